//! "Connect from…" under an input in the properties panel: the outputs that can feed it, in a
//! list, so a wire can be made without dragging — from the keyboard, or when the producer is
//! far away on the canvas. The list is built each time it is opened (focused or pressed), so
//! a large pipeline costs nothing until then and the list is never stale.

use leptos::prelude::*;
use pipeline::{PortRef, PortType};

use crate::state::use_state;

/// Separates a task id from its port in an option's value (neither contains it).
const SEP: char = '\u{1f}';

/// The list of outputs that can feed input `port` of task `node` (of type `ty`).
#[component]
pub fn ConnectFrom(node: String, port: String, ty: PortType) -> impl IntoView {
    let st = use_state();
    let to = PortRef {
        node: node.clone(),
        port: port.clone(),
    };
    let options = RwSignal::new(None::<Vec<(PortRef, String)>>);
    let fill = {
        let to = to.clone();
        move || {
            let found = st
                .doc
                .with_untracked(|d| crate::edit::sources_for(d, &to, &ty));
            options.try_set(Some(found));
        }
    };
    let on_change = move |ev: web_sys::Event| {
        let value = event_target_value(&ev);
        let Some((node, port)) = value.split_once(SEP) else {
            return;
        };
        let from = PortRef {
            node: node.to_string(),
            port: port.to_string(),
        };
        crate::tools::connect(st, from, to.clone(), false);
    };
    let (fill_focus, fill_down) = (fill.clone(), fill);
    view! {
        <select class="connect-from" data-testid=format!("connect-{port}")
            aria-label=format!("Connect input {port} from an output")
            on:focus=move |_| fill_focus() on:pointerdown=move |_| fill_down()
            on:change=on_change>
            <option value="" selected=true>"Connect from…"</option>
            // (The panel can close in the same turn as an edit: `try_`.)
            {move || options.try_with(|o| match o {
                None => Vec::new(),
                Some(list) if list.is_empty() => vec![view! {
                    <option value="" disabled=true>"no compatible output"</option>
                }.into_any()],
                Some(list) => list
                    .iter()
                    .map(|(from, label)| {
                        let value = format!("{}{SEP}{}", from.node, from.port);
                        view! { <option value=value>{label.clone()}</option> }.into_any()
                    })
                    .collect(),
            }).unwrap_or_default()}
        </select>
    }
}
