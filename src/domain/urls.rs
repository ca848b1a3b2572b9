//! Building HyperFleet API URLs from rendered `api_call.url` values (stage A of the Go
//! adapter): relative paths are cleaned and placed under `/api/hyperfleet/<version>/` unless
//! they already start with `api/`; absolute URLs on the configured API host are reduced to
//! their path. Unlike the Go adapter, the query string is kept, and relative URLs get the same
//! prefix when no base URL is configured (dry runs), so a dry run requests what serve would.

/// Builds the request URL for `url` given the configured base URL and API version.
pub fn build(url: &str, base_url: &str, version: &str) -> String {
    if url.is_empty() {
        return url.to_string();
    }
    let (without_query, query) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let with_query = |path: String| match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if let Some((scheme, rest)) = split_scheme(without_query) {
        let (host, path) = split_host(rest);
        let Some((bscheme, brest)) = split_scheme(base_url) else {
            return url.to_string();
        };
        let (bhost, bpath) = split_host(brest);
        if scheme != bscheme || host != bhost {
            return url.to_string();
        }
        let prefix = bpath.trim_end_matches('/');
        let stripped = path
            .strip_prefix(prefix)
            .filter(|_| !prefix.is_empty())
            .unwrap_or(path);
        let p = if stripped.starts_with('/') {
            stripped.to_string()
        } else {
            format!("/{stripped}")
        };
        return with_query(p);
    }
    let cleaned = clean_path(without_query);
    let trimmed = cleaned.trim_start_matches('/');
    if trimmed.starts_with("api/") {
        return with_query(format!("/{trimmed}"));
    }
    let v = clean_path(if version.is_empty() { "v1" } else { version });
    let v = v.trim_matches('/');
    with_query(format!("/api/hyperfleet/{v}/{trimmed}"))
}

fn split_scheme(u: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = u.split_once("://")?;
    scheme
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .then_some((scheme, rest))
}

fn split_host(rest: &str) -> (&str, &str) {
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    }
}

/// Go's `path.Clean`.
pub fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|s| *s != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Joins a request URL to the base URL (stage B, in the HTTP client): absolute URLs are used
/// as they are, others are appended to the base URL.
pub fn resolve(base_url: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_string();
    }
    let base = base_url.trim_end_matches('/');
    if url.starts_with('/') {
        format!("{base}{url}")
    } else {
        format!("{base}/{url}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://localhost:8000";

    #[test]
    fn relative_urls_go_under_the_api_prefix() {
        assert_eq!(
            build("clusters/abc123", BASE, "v1"),
            "/api/hyperfleet/v1/clusters/abc123"
        );
        assert_eq!(
            build("/clusters/abc123/", BASE, "v1"),
            "/api/hyperfleet/v1/clusters/abc123"
        );
        assert_eq!(
            build("/clusters/../clusters/abc123", BASE, "v1"),
            "/api/hyperfleet/v1/clusters/abc123"
        );
        assert_eq!(
            build("api/hyperfleet/v1/clusters/x", BASE, "v1"),
            "/api/hyperfleet/v1/clusters/x"
        );
        assert_eq!(
            build("/api/hyperfleet/v1/clusters/x", BASE, ""),
            "/api/hyperfleet/v1/clusters/x"
        );
        assert_eq!(
            build("clusters/x", BASE, "v2"),
            "/api/hyperfleet/v2/clusters/x"
        );
        assert_eq!(
            build("clusters/x", BASE, ""),
            "/api/hyperfleet/v1/clusters/x"
        );
    }

    #[test]
    fn absolute_urls_on_the_api_host_become_paths() {
        let base = "http://localhost:8000/api/hyperfleet/v1";
        assert_eq!(
            build(
                "http://localhost:8000/api/hyperfleet/v1/clusters/abc123",
                base,
                "v1"
            ),
            "/clusters/abc123"
        );
        assert_eq!(
            build("https://other:8000/x", base, "v1"),
            "https://other:8000/x"
        );
        assert_eq!(
            build("http://localhost:9000/x", base, "v1"),
            "http://localhost:9000/x"
        );
    }

    #[test]
    fn query_strings_are_kept_and_empty_base_leaves_urls_alone() {
        assert_eq!(
            build("/clusters?search=name='x'&page=2", BASE, "v1"),
            "/api/hyperfleet/v1/clusters?search=name='x'&page=2"
        );
        assert_eq!(
            build("clusters/x", "", "v1"),
            "/api/hyperfleet/v1/clusters/x"
        );
        assert_eq!(build("http://h/x", "", "v1"), "http://h/x");
        assert_eq!(resolve("http://h:8000/", "/api/x"), "http://h:8000/api/x");
        assert_eq!(resolve("http://h:8000", "api/x"), "http://h:8000/api/x");
        assert_eq!(resolve("http://h:8000", "https://o/x"), "https://o/x");
    }
}
