//! The component palette: catalog components by category, plus the control-flow frames (condition, loop, exit handler).
//! Items are dragged onto the canvas with pointer events (or clicked, or Enter pressed on them,
//! to add at the centre). The search filters every item, word by word, and says when nothing
//! matches; a component's tooltip tells its interface.

use leptos::prelude::*;
use pipeline::map::Map;

use crate::state::{category_color, text, use_state, CatalogEntry, Drag, PaletteItem};

/// The control-flow items: id (`data-item`), title, description, tooltip.
const CONTROL_FLOW: [(&str, &str, &str, &str); 3] = [
    (
        "condition",
        "Condition",
        "Run tasks only when an expression holds",
        "A frame whose tasks run only when its condition holds (dsl.If / dsl.Condition)",
    ),
    (
        "loop",
        "Loop",
        "Run tasks for each item of a list",
        "A frame whose tasks run once per item of a list (dsl.ParallelFor)",
    ),
    (
        "exit-handler",
        "Exit handler",
        "Always run a clean-up task afterwards",
        "A frame whose exit task runs after its tasks, whether they succeed or fail (dsl.ExitHandler)",
    ),
];

/// Where the favourite components' ids are kept (one per line).
const FAVOURITES_KEY: &str = "pipeline-canvas.favourites";

/// The favourite components' ids, as this browser keeps them.
fn load_favourites() -> Vec<String> {
    crate::autosave::local()
        .and_then(|s| s.get_item(FAVOURITES_KEY).ok().flatten())
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Whether every word of the search `f` (lower case) occurs in `text`.
fn matches(text: &str, f: &str) -> bool {
    let hay = text.to_ascii_lowercase();
    f.split_whitespace().all(|w| hay.contains(w))
}

/// A component's tooltip: its description and its interface in numbers.
fn details(e: &CatalogEntry) -> String {
    let c = &e.component;
    let inputs = c.input_definitions.parameters.len() + c.input_definitions.artifacts.len();
    let outputs = c.output_definitions.parameters.len() + c.output_definitions.artifacts.len();
    let about = if e.description.is_empty() {
        &e.title
    } else {
        &e.description
    };
    format!("{about}\n{inputs} inputs · {outputs} outputs · {}", e.id)
}

/// The item an event went to, and its title: `data-item` is `condition`, `loop`,
/// `exit-handler` or `c:<component id>`.
fn item_of(ev: &web_sys::Event) -> Option<(PaletteItem, String)> {
    use wasm_bindgen::JsCast as _;
    let el = ev
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest("[data-item]")
        .ok()??;
    let item = match el.get_attribute("data-item")?.as_str() {
        "condition" => PaletteItem::Condition,
        "loop" => PaletteItem::Loop,
        "exit-handler" => PaletteItem::ExitHandler,
        other => PaletteItem::Component(other.strip_prefix("c:")?.to_string()),
    };
    Some((item, el.get_attribute("data-label").unwrap_or_default()))
}

/// The palette.
#[component]
pub fn Palette() -> impl IntoView {
    let st = use_state();
    let filter = RwSignal::new(String::new());
    let favourites = RwSignal::new(load_favourites());
    // Adds or removes a favourite, kept in this browser (a refusing browser only forgets it).
    let toggle = move |id: String| {
        favourites.update(|f| match f.iter().position(|x| *x == id) {
            Some(i) => {
                f.remove(i);
            }
            None => f.push(id),
        });
        if let Some(s) = crate::autosave::local() {
            let _ = s.set_item(FAVOURITES_KEY, &favourites.get_untracked().join("\n"));
        }
    };
    let groups = Memo::new(move |_| {
        let f = filter.get().to_ascii_lowercase();
        let favs = favourites.get();
        st.catalog.with(|c| {
            let mut by_cat: Map<Vec<CatalogEntry>> = Map::new();
            for e in c {
                let hay = format!("{} {} {} {}", e.id, e.title, e.description, e.category);
                if matches(&hay, &f) {
                    if favs.contains(&e.id) {
                        // Listed first (a space sorts before letters), and in its category too.
                        by_cat
                            .entry(" Favourites".into())
                            .or_default()
                            .push(e.clone());
                    }
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
    let flow_shown = move |title: &str, desc: &str| {
        filter.with(|f| {
            matches(
                &format!("{title} {desc} control flow"),
                &f.to_ascii_lowercase(),
            )
        })
    };
    let nothing = move || {
        !filter.with(String::is_empty)
            && groups.with(Vec::is_empty)
            && !CONTROL_FLOW.iter().any(|(_, t, d, _)| flow_shown(t, d))
    };
    // One pair of handlers for every item (each item says what it adds in `data-item`):
    // pressing starts a drag, Enter or Space on a focused item adds it at the centre.
    let on_down = move |ev: web_sys::PointerEvent| {
        let Some((item, label)) = item_of(&ev) else {
            return;
        };
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
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let key = ev.key();
        if key == "Enter" || key == " " || key.eq_ignore_ascii_case("f") {
            if let Some((item, _)) = item_of(&ev) {
                ev.prevent_default();
                match item {
                    PaletteItem::Component(id) if key.eq_ignore_ascii_case("f") => {
                        // Not the canvas's F (fit the view).
                        ev.stop_propagation();
                        toggle(id);
                    }
                    _ if key.eq_ignore_ascii_case("f") => {}
                    item => crate::interaction::add_palette_item_by_key(&st, item),
                }
            }
        }
    };
    // A star toggles its component's favourite (`data-fav`); ✎ edits a user component
    // (`data-edit`, its file's name).
    let on_click = move |ev: web_sys::MouseEvent| {
        use wasm_bindgen::JsCast as _;
        let el = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        let attr = |name: &str| {
            el.as_ref()
                .and_then(|el| el.closest(&format!("[{name}]")).ok().flatten())
                .and_then(|el| el.get_attribute(name))
        };
        if let Some(id) = attr("data-fav") {
            toggle(id);
        } else if let Some(name) = attr("data-edit") {
            crate::authoring_view::edit_component(st, name);
        }
    };
    view! {
        <aside class="palette" data-testid="palette" aria-label="Components">
            <div class="palette-head">
                // First in the page (drawn last), so Tab goes from the search to the items.
                <button data-testid="btn-new-component" title="Write a component: a Python function or a container"
                    on:click=move |_| st.authoring.set(true)>"+ New"</button>
                <input
                    type="search"
                    placeholder="Search components"
                    data-testid="search-components"
                    prop:value=text(move || filter.get())
                    on:input=move |ev| filter.set(event_target_value(&ev))
                />
            </div>
            <div class="palette-scroll" on:pointerdown=on_down on:keydown=on_key on:click=on_click>
                // Shown once the catalog has loaded, so a visible palette item means "ready".
                <Show when=move || st.catalog_loaded.get()>
                {move || {
                    let items: Vec<_> = CONTROL_FLOW
                        .into_iter()
                        .filter(|(_, title, desc, _)| flow_shown(title, desc))
                        .map(|(id, title, desc, tip)| {
                            view! {
                                <div
                                    class="palette-item"
                                    data-testid=format!("palette-{id}")
                                    data-item=id
                                    data-label=title
                                    title=tip
                                    tabindex="0"
                                    role="button"
                                >
                                    <span class="palette-item-title">{title}</span>
                                    <span class="palette-item-desc">{desc}</span>
                                </div>
                            }
                        })
                        .collect();
                    let any = !items.is_empty();
                    let empty = nothing().then(|| {
                        let message = format!("No component matches “{}”.", filter.get_untracked().trim());
                        view! { <p class="muted small pad" data-testid="components-empty">{message}</p> }
                    });
                    view! {
                        {any.then(|| view! {
                            <div class="palette-cat">
                                <div class="palette-cat-title">
                                    <span class="dot" style:background=category_color("Control flow")></span>
                                    "Control flow"
                                </div>
                                {items}
                            </div>
                        })}
                        {empty}
                    }
                }}
                {move || {
                    groups
                        .get()
                        .into_iter()
                        .map(|(cat, entries)| {
                            let favs = cat == " Favourites";
                            let color = category_color(&cat);
                            let favourite = move |id: &str| favourites.with(|f| f.iter().any(|x| x == id));
                            view! {
                                <div class="palette-cat">
                                    <div class="palette-cat-title">
                                        <span class="dot" style:background=color></span>
                                        {cat.trim().to_string()}
                                        <span class="muted small">{entries.len()}</span>
                                    </div>
                                    {entries
                                        .into_iter()
                                        .map(|e| {
                                            let starred = favourite(&e.id);
                                            let testid = if favs { "favourite" } else { "palette" };
                                            view! {
                                                <div class="palette-row">
                                                    <div
                                                        class="palette-item"
                                                        style:border-left-color=color
                                                        data-testid=format!("{testid}-{}", e.id)
                                                        data-item=format!("c:{}", e.id)
                                                        data-label=e.title.clone()
                                                        title=details(&e)
                                                        tabindex="0"
                                                        role="button"
                                                        aria-keyshortcuts="F"
                                                    >
                                                        <span class="palette-item-title">{e.title.clone()}</span>
                                                        <span class="palette-item-desc mono">{e.id.clone()}</span>
                                                    </div>
                                                    <button
                                                        class="fav"
                                                        tabindex="-1"
                                                        data-fav=e.id.clone()
                                                        data-testid=format!("{testid}-star-{}", e.id)
                                                        aria-pressed=starred.to_string()
                                                        aria-label=format!("Favourite: {}", e.title)
                                                        title="Favourite (F on a focused item)"
                                                    >
                                                        {if starred { "★" } else { "☆" }}
                                                    </button>
                                                    {e.id.strip_prefix("user/").map(|file| view! {
                                                        <button
                                                            class="fav"
                                                            tabindex="-1"
                                                            data-edit=file.strip_suffix(".yaml").unwrap_or(file).to_string()
                                                            data-testid=format!("{testid}-edit-{}", e.id)
                                                            aria-label=format!("Edit {}", e.title)
                                                            title="Edit in the component editor"
                                                        >"✎"</button>
                                                    })}
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

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn every_word_of_the_search_must_occur_in_any_case_and_order() {
        let hay = "model-deploy Deploy model to endpoint Serving";
        for (search, hit) in [
            ("", true),
            ("deploy", true),
            ("endpoint deploy", true),
            ("  serving   model ", true),
            ("endpoint training", false),
            ("xyz", false),
        ] {
            assert_eq!(matches(hay, search), hit, "{search:?}");
        }
    }
}
