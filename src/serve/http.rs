//! What `serve` answers to one request: the path it names in the served tree, the
//! content type, and the live-reload script and error overlay added to HTML pages.
//! Pure functions, so each is tested on its own.

/// The path of the long-poll that tells open pages to reload.
pub const RELOAD_PATH: &str = "/__procsite/reload";

/// Why a request target names no file of the tree.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not a path procsite could ever serve (bad percent-encoding, NUL, backslash).
    BadRequest,
    /// A well-formed path outside the tree's names (`..`, `.`, empty segments).
    NotFound,
}

/// The key in the served tree that a request target names: percent-decoded, relative
/// to the output root, `index.html` for a folder. A target with `..`, `.` or an empty
/// segment (`//etc/passwd`), a backslash or a NUL names nothing: the tree's keys have
/// none of them, and refusing them outright keeps every lookup a plain map lookup.
pub fn tree_key(target: &str) -> Result<String, Refused> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let Some(rest) = path.strip_prefix('/') else {
        return Err(Refused::BadRequest);
    };
    let decoded = percent_decode(rest).ok_or(Refused::BadRequest)?;
    if decoded.contains(['\0', '\\']) {
        return Err(Refused::BadRequest);
    }
    if decoded.is_empty() {
        return Ok(crate::layout::INDEX.to_string());
    }
    let folder = decoded.ends_with('/');
    let segments = decoded.strip_suffix('/').unwrap_or(&decoded);
    if segments
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(Refused::NotFound);
    }
    Ok(if folder {
        format!("{decoded}{}", crate::layout::INDEX)
    } else {
        decoded
    })
}

/// `%XX` escapes decoded; `None` for a malformed escape or text that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `since` generation of a reload request's query, if it has one.
pub fn since(target: &str) -> Option<u64> {
    let query = target.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("since="))
        .and_then(|v| v.parse().ok())
}

/// The content type of a served file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Text made safe to place in HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The script that reloads the page once a build newer than `generation` finishes.
/// It waits on the long-poll, and retries slowly while the server is away.
pub fn reload_script(generation: u64) -> String {
    format!(
        r#"<script>(function(){{var g={generation};function poll(){{fetch("{RELOAD_PATH}?since="+g,{{cache:"no-store"}}).then(function(r){{return r.json()}}).then(function(j){{if(j.generation>g){{location.reload()}}else{{poll()}}}}).catch(function(){{setTimeout(poll,2000)}})}}poll()}})();</script>"#
    )
}

/// The overlay shown over the last good page while the latest build has errors.
pub fn overlay(diagnostics: &[String]) -> String {
    format!(
        concat!(
            r#"<div id="procsite-serve-errors" role="alert" style="position:fixed;inset:0;z-index:2147483647;overflow:auto;"#,
            r#"background:rgba(20,20,20,.93);color:#fff;font:14px/1.45 ui-monospace,monospace;padding:2em">"#,
            r#"<button type="button" onclick="this.parentNode.remove()" style="float:right">Show the page</button>"#,
            r#"<h2 style="margin-top:0;color:#ff8a80">The latest build failed; this is the last good build</h2>"#,
            r#"<pre style="white-space:pre-wrap">{}</pre>"#,
            r#"<p>Fix the files above: the page reloads when the build succeeds.</p></div>"#
        ),
        escape(&diagnostics.join("\n"))
    )
}

/// The page served when there was never a good build.
pub fn error_page(diagnostics: &[String], generation: u64) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>procsite serve: build failed</title></head><body>{}{}</body></html>\n",
        overlay(diagnostics)
            .replace(
                "The latest build failed; this is the last good build",
                "The build failed"
            )
            .replace("Show the page", "Hide"),
        reload_script(generation)
    )
}

/// An HTML page as served: with the reload script, and the overlay when the latest
/// build failed, before its last `</body>` (or at its end). Never written to disk.
pub fn inject(html: &[u8], generation: u64, failed: Option<&[String]>) -> Vec<u8> {
    let mut extra = String::new();
    if let Some(d) = failed {
        extra.push_str(&overlay(d));
    }
    extra.push_str(&reload_script(generation));
    let at = html
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + extra.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_tree_keys_and_nothing_leaves_the_tree() {
        assert_eq!(tree_key("/").unwrap(), "index.html");
        assert_eq!(tree_key("/?x=1").unwrap(), "index.html");
        assert_eq!(
            tree_key("/cork/preview/").unwrap(),
            "cork/preview/index.html"
        );
        assert_eq!(
            tree_key("/cork/preview/SOP%2D1.html#a").unwrap(),
            "cork/preview/SOP-1.html"
        );
        for bad in [
            "/../book.toml",
            "/%2e%2e/book.toml",
            "/%2E%2E%2Fbook.toml",
            "//etc/passwd",
            "/cork//x",
            "/./index.html",
            "/cork/%2e/index.html",
        ] {
            assert_eq!(tree_key(bad), Err(Refused::NotFound), "{bad}");
        }
        for bad in [
            "/..%5cbook.toml",
            "/a\\b",
            "/a%00b",
            "/%zz",
            "/%e9",
            "book.toml",
        ] {
            assert_eq!(tree_key(bad), Err(Refused::BadRequest), "{bad}");
        }
    }

    #[test]
    fn the_script_and_overlay_go_before_the_body_ends_and_are_escaped() {
        let page = inject(
            b"<html><body><p>x</p></body></html>",
            7,
            Some(&["a.md:3: error: <b>&".to_string()]),
        );
        let page = String::from_utf8(page).unwrap();
        assert!(page.ends_with("</script></body></html>"), "{page}");
        assert!(page.contains("since=\"+g") && page.contains("var g=7;"));
        assert!(page.contains("a.md:3: error: &lt;b&gt;&amp;"));
        assert!(!page.contains("<b>&"));
        let plain = String::from_utf8(inject(b"no body", 1, None)).unwrap();
        assert!(plain.starts_with("no body<script>"));
        assert!(!plain.contains("procsite-serve-errors"));
    }

    #[test]
    fn types_and_since() {
        assert_eq!(content_type("a/b.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(since("/__procsite/reload?since=12"), Some(12));
        assert_eq!(since("/__procsite/reload"), None);
    }
}
