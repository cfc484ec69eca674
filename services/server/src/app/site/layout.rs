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
                main { (content) }
            }
        }
    }
}
