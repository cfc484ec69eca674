//! The web pages without JavaScript: a [`Browser`] that keeps the server's cookies and follows
//! no redirects, and the accessibility checks the page tests share (a label for every field,
//! headings in order, a CSRF field in every form that posts).

use std::collections::BTreeMap;

use crate::{TestApp, spawn_app_with};

/// The server in development mode (the sign-in picker offers the development identities).
pub async fn dev_app(kind: styr_eventstore::BackendKind) -> TestApp {
    spawn_app_with(kind, &[("STYR_DEV", "true")]).await
}

/// A browser without JavaScript that follows nothing by itself; it keeps the server's cookies
/// (and sends them only there).
pub struct Browser<'a> {
    pub app: &'a TestApp,
    client: awc::Client,
    pub cookies: BTreeMap<String, String>,
}

/// What a [`Browser`] got back.
pub struct Page {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub disposition: Option<String>,
    pub content_type: Option<String>,
    /// The `Set-Cookie` headers of this response, whole.
    pub set_cookies: Vec<String>,
}

impl Page {
    /// Fails the test unless the body contains `needle`, showing the body.
    #[track_caller]
    pub fn assert_has(&self, needle: &str) {
        assert!(self.body.contains(needle), "{}", self.body);
    }

    /// Fails the test if the body contains `needle`, showing the body.
    #[track_caller]
    pub fn assert_lacks(&self, needle: &str) {
        assert!(!self.body.contains(needle), "{}", self.body);
    }

    /// The whole `Set-Cookie` header for the cookie `name`, if this response sets it.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }

    /// Whether this response gives the browser a session (sets it to a value).
    pub fn sets_session(&self) -> bool {
        self.set_cookie("styr_session")
            .is_some_and(|c| !c.starts_with("styr_session=;") && !c.contains("Max-Age=0"))
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            client: awc::Client::builder().disable_redirects().finish(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, req: awc::ClientRequest, form: Option<&[(String, String)]>) -> Page {
        let to_app = req.get_uri().to_string().starts_with(&self.app.address);
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if to_app && !cookie.is_empty() {
            req.insert_header(("Cookie", cookie))
        } else {
            req
        };
        let mut res = match form {
            Some(f) => req.send_form(&f).await,
            None => req.send().await,
        }
        .expect("a response");
        let set_cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        if to_app {
            for c in &set_cookies {
                let (k, v) = c.split(';').next().unwrap().split_once('=').unwrap();
                if c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|l| l.to_str().unwrap().to_owned())
        };
        let location = header("location");
        let disposition = header("content-disposition");
        let content_type = header("content-type");
        let body = res.body().limit(10 << 20).await.expect("a body");
        Page {
            status: res.status().as_u16(),
            body: String::from_utf8_lossy(&body).into_owned(),
            location,
            disposition,
            content_type,
            set_cookies,
        }
    }

    /// GETs an absolute URL or a path on the server.
    pub async fn get(&mut self, url: &str) -> Page {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.app.address)
        } else {
            url.to_owned()
        };
        let req = self.client.get(url);
        self.send(req, None).await
    }

    /// Posts a form as a browser does; `with_csrf` adds the token from the cookie.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)], with_csrf: bool) -> Page {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if with_csrf {
            let csrf = self
                .cookies
                .get("styr_csrf")
                .cloned()
                .expect("a CSRF cookie");
            form.push(("csrf".into(), csrf));
        }
        let req = self.client.post(format!("{}{path}", self.app.address));
        self.send(req, Some(&form)).await
    }

    /// Signs in with a development identity (`hod`, `dmp`, `rr`) through the picker.
    pub async fn sign_in(&mut self, who: &str) {
        let page = self.get("/login").await;
        assert_eq!(page.status, 200);
        let page = self.post("/login", &[("identity", who)], true).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location.as_deref(), Some("/"));
        assert!(self.cookies.contains_key("styr_session"));
    }

    /// Signed in with a token the server signed, for identities the picker does not offer.
    pub async fn sign_in_as(&mut self, role: &str, org: &str) {
        self.get("/login").await;
        self.cookies
            .insert("styr_session".into(), self.app.token(role, org));
    }
}

// ---- accessibility checks ---------------------------------------------------------------------

/// The opening tags `<name …>` in `html`, whole.
pub fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        if after.starts_with([' ', '>', '/']) {
            let end = after.find('>').unwrap_or(after.len());
            out.push(&rest[i..i + open.len() + end + 1]);
        }
        rest = &rest[i + open.len()..];
    }
    out
}

/// The value of `name` in a tag's text.
pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(r#" {name}=""#);
    let i = tag.find(&key)? + key.len();
    let end = tag[i..].find('"')?;
    Some(&tag[i..i + end])
}

/// Every visible field has an id and a label for it.
pub fn check_labels(page: &str, html: &str) {
    let labelled: Vec<&str> = tags(html, "label")
        .into_iter()
        .filter_map(|t| attr(t, "for"))
        .collect();
    for kind in ["input", "select", "textarea"] {
        for tag in tags(html, kind) {
            if attr(tag, "type") == Some("hidden") {
                continue;
            }
            let id = attr(tag, "id").unwrap_or_else(|| panic!("{page}: {tag} has no id"));
            assert!(labelled.contains(&id), "{page}: {tag} has no label");
        }
    }
}

/// Every form that changes something carries the CSRF field.
pub fn check_csrf_fields(page: &str, html: &str) {
    for form in tags(html, "form") {
        if attr(form, "method") == Some("post") {
            let start = html.find(form).unwrap();
            let end = html[start..].find("</form>").unwrap() + start;
            assert!(
                html[start..end].contains(r#"name="csrf""#),
                "{page}: {form} has no CSRF field"
            );
        }
    }
}

/// One h1, first, and no heading level skipped on the way down.
pub fn check_headings(page: &str, html: &str) {
    let mut levels = Vec::new();
    for (i, _) in html.match_indices("<h") {
        if let Some(d) = html[i + 2..].chars().next().and_then(|c| c.to_digit(10)) {
            levels.push(d);
        }
    }
    assert_eq!(
        levels.first(),
        Some(&1),
        "{page}: starts with h1: {levels:?}"
    );
    assert_eq!(
        levels.iter().filter(|l| **l == 1).count(),
        1,
        "{page}: one h1"
    );
    for w in levels.windows(2) {
        assert!(w[1] <= w[0] + 1, "{page}: heading levels skip: {levels:?}");
    }
}
