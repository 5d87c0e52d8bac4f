//! Server-sent event streams (`EventSource`) with Rust callbacks. The stream closes when the
//! handle is dropped, or when a callback asks for it (the browser would otherwise reconnect
//! after the server ends a stream, and replay it).

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, MessageEvent};

/// What a callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep listening.
    Continue,
    /// Close the stream: everything has arrived.
    Close,
}

/// A callback for named events.
type Handler = Rc<dyn Fn(&str, String) -> Next>;

/// An open event stream; closed on drop.
pub struct Stream {
    es: EventSource,
    _listeners: Vec<Closure<dyn FnMut(MessageEvent)>>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Stream {
    /// Opens `url` and calls `on_event(name, data)` for each event named in `names`;
    /// `on_error(closed)` when the connection fails (`closed`: the browser gave up, otherwise
    /// it reconnects by itself and the server starts over).
    pub fn open(
        url: &str,
        names: &[&'static str],
        on_event: impl Fn(&str, String) -> Next + 'static,
        on_error: impl Fn(bool) + 'static,
    ) -> Result<Self, String> {
        let es =
            EventSource::new(url).map_err(|_| format!("cannot open the event stream {url}"))?;
        let on_event: Handler = Rc::new(on_event);
        let mut listeners = Vec::with_capacity(names.len());
        for &name in names {
            let (f, source) = (on_event.clone(), es.clone());
            let cb = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let data = e.data().as_string().unwrap_or_default();
                if f(name, data) == Next::Close {
                    source.close();
                }
            });
            es.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref())
                .map_err(|_| format!("cannot listen to {name} events of {url}"))?;
            listeners.push(cb);
        }
        let source = es.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            on_error(source.ready_state() == EventSource::CLOSED);
        });
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            es,
            _listeners: listeners,
            _on_error: on_error,
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.es.set_onerror(None);
        self.es.close();
    }
}
