//! The toolbar's dropdowns (Examples, Open, Import URL), the `menus` chunk: the editor
//! starts without their lists, and the saved pipelines are only listed when Open is opened.

use leptos::prelude::*;
use wasm_split_helpers::wasm_split;

use crate::actions;
use crate::chunks::Unloaded;
use crate::state::AppState;
use crate::toolbar::Menu;

/// The contents of dropdown `which`; `menu` is the toolbar's open dropdown, closed by a choice.
#[wasm_split(menus, fallible)]
pub fn menu(st: AppState, which: Menu, menu: RwSignal<Option<Menu>>) -> Result<AnyView, Unloaded> {
    Ok(match which {
        Menu::Examples => examples(st, menu),
        Menu::Open => {
            actions::refresh_saved(st);
            saved(st, menu)
        }
        Menu::Url => url_form(st, menu),
    })
}

fn examples(st: AppState, menu: RwSignal<Option<Menu>>) -> AnyView {
    let items = move || {
        let list = st.examples.get();
        if list.is_empty() {
            return view! { <div class="menu-empty">"No examples available"</div> }.into_any();
        }
        list.into_iter()
            .map(|x| {
                let id = x.id.clone();
                view! {
                    <button
                        class="menu-item"
                        data-testid=format!("example-{}", x.id)
                        on:click=move |_| {
                            menu.set(None);
                            actions::open_example(st, id.clone());
                        }
                    >
                        <span>{x.title.clone()}</span>
                        <span class="menu-sub mono">{x.id.clone()}</span>
                    </button>
                }
            })
            .collect_view()
            .into_any()
    };
    view! { <div class="menu" data-testid="menu-examples">{items}</div> }.into_any()
}

fn saved(st: AppState, menu: RwSignal<Option<Menu>>) -> AnyView {
    let items = move || {
        let list = st.saved.get();
        if list.is_empty() {
            return view! { <div class="menu-empty" data-testid="open-empty">"No saved pipelines yet"</div> }.into_any();
        }
        list.into_iter()
            .map(|p| {
                let id = p.id.clone();
                let when = p.updated_at.replace('T', " ");
                let when = when.get(..16).unwrap_or(&when).to_string();
                view! {
                    <button
                        class="menu-item"
                        data-testid=format!("open-{}", p.id)
                        on:click=move |_| {
                            menu.set(None);
                            actions::open_saved(st, id.clone());
                        }
                    >
                        <span>{p.name.clone()}</span>
                        <span class="menu-sub">{when}</span>
                    </button>
                }
            })
            .collect_view()
            .into_any()
    };
    view! { <div class="menu" data-testid="menu-open">{items}</div> }.into_any()
}

fn url_form(st: AppState, menu: RwSignal<Option<Menu>>) -> AnyView {
    let url = RwSignal::new(String::new());
    view! {
        <form
            class="menu url-form"
            data-testid="menu-import-url"
            on:submit=move |ev| {
                ev.prevent_default();
                menu.set(None);
                crate::import_ui::open_url(st, url.get_untracked());
            }
        >
            <input
                type="url"
                data-testid="input-import-url"
                placeholder="https://…/component.yaml"
                aria-label="URL of a pipeline or component YAML"
                prop:value=move || url.get()
                on:input=move |ev| url.set(event_target_value(&ev))
            />
            <button type="submit" class="primary" data-testid="btn-import-url-go">"Import"</button>
        </form>
    }
    .into_any()
}
