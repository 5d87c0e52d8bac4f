//! What the page does when the app panics: a Rust panic is a bug, and in the browser build it
//! stops the app (panics abort). The hook reports the message and where it happened — on the
//! console (which the browser tests treat as a failure) and in a banner over the page that
//! tells the user to reload (saved pipelines are on the server; unsaved edits are lost).

/// Installs the panic hook; call first thing.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        let place = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "an unknown place".to_string());
        let text = format!("Pipeline Canvas panicked at {place}: {message}");
        web_sys::console::error_1(&text.as_str().into());
        show_banner(&text);
    }));
}

/// A banner over the page with the panic and what to do (styled by `.panic-banner`).
fn show_banner(text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let (Ok(banner), Some(body)) = (document.create_element("div"), document.body()) else {
        return;
    };
    banner.set_class_name("panic-banner");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("data-testid", "panic-banner");
    banner.set_text_content(Some(&format!(
        "{text}. The editor has stopped: reload the page to go on (saved pipelines are kept on \
         the server). Please report this message."
    )));
    let _ = body.append_child(&banner);
}
