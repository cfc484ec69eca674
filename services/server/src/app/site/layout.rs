//! The frame around every page: the header with who is signed in, their role, sign-out and the
//! language switch.

use maud::{DOCTYPE, Markup, html};
use styr_workflow::domain::Role;

use super::Page;

pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::Ministry => "role.ministry",
        Role::Agency => "role.agency",
        Role::Auditor => "role.auditor",
        Role::Admin => "role.admin",
    }
}

pub fn page(page: &Page, title: &str, content: Markup) -> Markup {
    let other = match page.lang {
        super::Lang::Nb => "en",
        super::Lang::En => "nb",
    };
    html! {
        (DOCTYPE)
        html lang=(page.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – " (page.t("app")) }
                link rel="stylesheet" href="/static/styr.css";
            }
            body {
                header.site {
                    a.brand href="/" { (page.t("app")) }
                    nav aria-label=(page.t("user")) {
                        @if let Some(id) = &page.identity {
                            span.who {
                                (page.t("signed_in_as")) " "
                                strong { (id.actor.display_name) }
                                " (" (page.t(role_key(id.actor.role))) ", "
                                (id.actor.organisation.as_str()) ")"
                            }
                            form.inline method="post" action="/logout" {
                                (page.csrf_field())
                                button type="submit" { (page.t("sign_out")) }
                            }
                        } @else if !page.path.starts_with("/login") {
                            a href="/login" { (page.t("sign_in")) }
                        }
                        a lang=(other) href={ (page.path) "lang=" (other) } { (page.t("language")) }
                    }
                }
                (site_nav(page))
                main { (content) }
            }
        }
    }
}

/// The links to the pages the signed-in role can use (the schema still decides what each
/// page shows).
fn site_nav(page: &Page) -> Markup {
    let Some(role) = page.identity.as_ref().map(|i| i.actor.role) else {
        return html! {};
    };
    let mut links: Vec<(&str, &'static str)> = Vec::new();
    if role != Role::Admin {
        links.extend([
            ("/", "board"),
            ("/letters", "letters"),
            ("/calendar", "calendar"),
            ("/deviations", "deviations"),
        ]);
    }
    if role == Role::Ministry {
        links.push(("/import", "import"));
    }
    if role == Role::Auditor {
        links.push(("/audit", "audit"));
    }
    let here = page.path.split(['?', '&']).next().unwrap_or("");
    html! {
        @if !links.is_empty() {
            nav.pages aria-label=(page.t("nav")) {
                ul {
                    @for (href, key) in links {
                        li {
                            a href=(href) aria-current=[(here == href).then_some("page")] { (page.t(key)) }
                        }
                    }
                }
            }
        }
    }
}

/// A table's head row: one column header a key, in the page's language.
pub fn column_heads(page: &Page, keys: &[&'static str]) -> Markup {
    html! {
        thead { tr { @for key in keys { th scope="col" { (page.t(key)) } } } }
    }
}
