//! The component palette: catalog components by category, plus the control-flow frames (condition, loop, exit handler).
//! Items are dragged onto the canvas with pointer events (or clicked, or Enter pressed on them,
//! to add at the centre).

use leptos::prelude::*;
use pipeline::map::Map;

use crate::state::{category_color, text, use_state, CatalogEntry, Drag, PaletteItem};

/// The palette.
#[component]
pub fn Palette() -> impl IntoView {
    let st = use_state();
    let filter = RwSignal::new(String::new());
    let groups = Memo::new(move |_| {
        let f = filter.get().to_ascii_lowercase();
        st.catalog.with(|c| {
            let mut by_cat: Map<Vec<CatalogEntry>> = Map::new();
            for e in c {
                let hay = format!("{} {} {} {}", e.id, e.title, e.description, e.category)
                    .to_ascii_lowercase();
                if f.is_empty() || hay.contains(&f) {
                    let cat = if e.category.is_empty() {
                        "Other".to_string()
                    } else {
                        e.category.clone()
                    };
                    by_cat.entry(cat).or_default().push(e.clone());
                }
            }
            by_cat.into_iter().collect::<Vec<_>>()
        })
    });
    let start = move |item: PaletteItem, label: String, ev: &web_sys::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        let c = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        st.drag.set(Some(Drag::Palette {
            item,
            label,
            start: c,
            client: c,
        }));
    };
    // Enter or Space on a focused item adds it at the centre of the view.
    let key = move |item: PaletteItem, ev: &web_sys::KeyboardEvent| {
        if ev.key() == "Enter" || ev.key() == " " {
            ev.prevent_default();
            crate::interaction::add_palette_item_by_key(&st, item);
        }
    };
    view! {
        <aside class="palette" data-testid="palette" aria-label="Components">
            <div class="palette-head">
                <input
                    type="search"
                    placeholder="Search components"
                    data-testid="search-components"
                    prop:value=text(move || filter.get())
                    on:input=move |ev| filter.set(event_target_value(&ev))
                />
            </div>
            <div class="palette-scroll">
                // Shown once the catalog has loaded, so a visible palette item means "ready".
                <Show when=move || st.catalog_loaded.get()>
                <div class="palette-cat">
                    <div class="palette-cat-title">
                        <span class="dot" style:background=category_color("Control flow")></span>
                        "Control flow"
                    </div>
                    <div
                        class="palette-item"
                        data-testid="palette-condition"
                        title="A frame whose tasks run only when its condition holds (dsl.If / dsl.Condition)"
                        on:pointerdown=move |ev| start(PaletteItem::Condition, "Condition".to_string(), &ev)
                        tabindex="0"
                        role="button"
                        on:keydown=move |ev| key(PaletteItem::Condition, &ev)
                    >
                        <span class="palette-item-title">"Condition"</span>
                        <span class="palette-item-desc">"Run tasks only when an expression holds"</span>
                    </div>
                    <div
                        class="palette-item"
                        data-testid="palette-loop"
                        title="A frame whose tasks run once per item of a list (dsl.ParallelFor)"
                        on:pointerdown=move |ev| start(PaletteItem::Loop, "Loop".to_string(), &ev)
                        tabindex="0"
                        role="button"
                        on:keydown=move |ev| key(PaletteItem::Loop, &ev)
                    >
                        <span class="palette-item-title">"Loop"</span>
                        <span class="palette-item-desc">"Run tasks for each item of a list"</span>
                    </div>
                    <div
                        class="palette-item"
                        data-testid="palette-exit-handler"
                        title="A frame whose exit task runs after its tasks, whether they succeed or fail (dsl.ExitHandler)"
                        on:pointerdown=move |ev| start(PaletteItem::ExitHandler, "Exit handler".to_string(), &ev)
                        tabindex="0"
                        role="button"
                        on:keydown=move |ev| key(PaletteItem::ExitHandler, &ev)
                    >
                        <span class="palette-item-title">"Exit handler"</span>
                        <span class="palette-item-desc">"Always run a clean-up task afterwards"</span>
                    </div>
                </div>
                {move || {
                    groups
                        .get()
                        .into_iter()
                        .map(|(cat, entries)| {
                            let color = category_color(&cat);
                            view! {
                                <div class="palette-cat">
                                    <div class="palette-cat-title">
                                        <span class="dot" style:background=color></span>
                                        {cat.clone()}
                                        <span class="muted small">{entries.len()}</span>
                                    </div>
                                    {entries
                                        .into_iter()
                                        .map(|e| {
                                            let (id, title) = (e.id.clone(), e.title.clone());
                                            let key_id = e.id.clone();
                                            view! {
                                                <div
                                                    class="palette-item"
                                                    style:border-left-color=color
                                                    data-testid=format!("palette-{}", e.id)
                                                    title=if e.description.is_empty() { e.title.clone() } else { e.description.clone() }
                                                    on:pointerdown=move |ev| start(PaletteItem::Component(id.clone()), title.clone(), &ev)
                                                    tabindex="0"
                                                    role="button"
                                                    on:keydown=move |ev| key(PaletteItem::Component(key_id.clone()), &ev)
                                                >
                                                    <span class="palette-item-title">{e.title.clone()}</span>
                                                    <span class="palette-item-desc mono">{e.id.clone()}</span>
                                                </div>
                                            }
                                        })
                                        .collect_view()}
                                </div>
                            }
                        })
                        .collect_view()
                }}
                </Show>
                <Show when=move || !st.catalog_loaded.get()>
                    <p class="muted small pad">"Loading components…"</p>
                </Show>
            </div>
        </aside>
    }
}
