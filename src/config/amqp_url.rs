//! `broker.rabbitmq.url` read the way the Go adapter's client (amqp091-go `ParseURI`) reads it,
//! so every URL that connects in Go connects here to the same place.
//!
//! The difference that matters: lapin's own parser reads `amqp://host:5672/` as the *empty*
//! vhost (`NOT_ALLOWED - vhost  not found`), amqp091-go as the default vhost `/` — and that is
//! the form in the Go chart and most `broker.yaml` files. Rules, after amqp091-go:
//! - scheme `amqp` (port 5672) or `amqps` (port 5671); no whitespace anywhere;
//! - host defaults to `localhost`; user and password to `guest` (a user without a password
//!   keeps the `guest` password);
//! - path: empty or `/` → vhost `/`; otherwise the path without its first `/`,
//!   percent-decoded (`/%2F` → `/`, `/name` → `name`, `/a%2Fb` → `a/b`);
//! - query: `heartbeat` (seconds), `connection_timeout` (milliseconds), `channel_max`,
//!   `frame_size`, `auth_mechanism` (`plain`, `amqplain`, `external`), and the TLS files
//!   `certfile`, `keyfile`, `cacertfile`, `server_name_indication`; other parameters are ignored.
//!
//! This module knows no AMQP client types (the config compiles without the `rabbitmq`
//! feature); the RabbitMQ adapter turns an [`AmqpUrl`] into lapin's `AMQPUri`.

use std::borrow::Cow;

/// Why a URL was refused. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmqpUrlError {
    #[error("URI must not contain whitespace")]
    Whitespace,
    #[error("AMQP scheme must be either 'amqp://' or 'amqps://'")]
    Scheme,
    #[error("the URL cannot be parsed: {0}")]
    Syntax(url::ParseError),
    #[error("invalid percent-encoding in the {0}")]
    Escape(&'static str),
    #[error("query parameter {name} is not a valid number: {value:?}")]
    Number { name: &'static str, value: String },
    #[error("unsupported auth_mechanism: {0}")]
    AuthMechanism(String),
}

/// `amqp` or `amqps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmqpScheme {
    Amqp,
    Amqps,
}

/// A SASL mechanism amqp091-go offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    Plain,
    AmqPlain,
    External,
}

/// The parts of an AMQP URL, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct AmqpUrl {
    pub scheme: AmqpScheme,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub vhost: String,
    /// Seconds; `None` lets the broker propose one (lapin's negotiation).
    pub heartbeat: Option<u16>,
    /// Milliseconds for the TCP connect.
    pub connection_timeout: Option<u64>,
    pub channel_max: Option<u16>,
    pub frame_size: Option<u32>,
    /// In the order given; the first is used.
    pub auth_mechanisms: Vec<AuthMechanism>,
    pub certfile: Option<String>,
    pub keyfile: Option<String>,
    pub cacertfile: Option<String>,
    pub server_name: Option<String>,
}

// Hand-written so a debug print never shows the password.
impl std::fmt::Debug for AmqpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpUrl")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"***")
            .field("vhost", &self.vhost)
            .finish_non_exhaustive()
    }
}

/// Percent-decodes, refusing `%` not followed by two hex digits (Go's url.Parse does).
fn decode<'a>(s: &'a str, part: &'static str) -> Result<Cow<'a, str>, AmqpUrlError> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(i + 1) && hex(i + 2)) {
            return Err(AmqpUrlError::Escape(part));
        }
    }
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            // Checked above: two hex digits follow.
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| AmqpUrlError::Escape(part))
}

fn number<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, AmqpUrlError> {
    value.parse().map_err(|_| AmqpUrlError::Number {
        name,
        value: value.to_string(),
    })
}

/// The vhost of a decoded path, as amqp091-go derives it.
fn vhost(path: &str, host_empty: bool) -> String {
    match path {
        "" | "/" => "/".into(),
        // `amqp:///vhost`: no authority, Go keeps what follows the third slash.
        p if host_empty && p.starts_with("///") => match &p[3..] {
            "" => "/".into(),
            rest => rest.into(),
        },
        p => p.strip_prefix('/').unwrap_or(p).into(),
    }
}

impl AmqpUrl {
    /// Parses `url` as amqp091-go's `ParseURI` does.
    pub fn parse(url: &str) -> Result<AmqpUrl, AmqpUrlError> {
        if url.contains(char::is_whitespace) {
            return Err(AmqpUrlError::Whitespace);
        }
        let u = url::Url::parse(url).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => AmqpUrlError::Scheme,
            e => AmqpUrlError::Syntax(e),
        })?;
        let scheme = match u.scheme() {
            "amqp" => AmqpScheme::Amqp,
            "amqps" => AmqpScheme::Amqps,
            _ => return Err(AmqpUrlError::Scheme),
        };
        let host = match u.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => decode(d, "host")?.into_owned(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => "localhost".into(),
        };
        let port = u.port().unwrap_or(match scheme {
            AmqpScheme::Amqp => 5672,
            AmqpScheme::Amqps => 5671,
        });
        // Go: a userinfo present (even an empty user) replaces the guest user; the password
        // only when one is given.
        let has_userinfo = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .is_some_and(|authority| authority.contains('@'));
        let username = if has_userinfo {
            decode(u.username(), "user name")?.into_owned()
        } else {
            "guest".into()
        };
        let password = match u.password() {
            Some(p) => decode(p, "password")?.into_owned(),
            None => "guest".into(),
        };
        let path = decode(u.path(), "path")?;
        let host_empty = u.host_str().is_none_or(str::is_empty);
        let mut out = AmqpUrl {
            scheme,
            host,
            port,
            username,
            password,
            vhost: vhost(&path, host_empty),
            heartbeat: None,
            connection_timeout: None,
            channel_max: None,
            frame_size: None,
            auth_mechanisms: Vec::new(),
            certfile: None,
            keyfile: None,
            cacertfile: None,
            server_name: None,
        };
        out.read_query(&u)?;
        Ok(out)
    }

    fn read_query(&mut self, u: &url::Url) -> Result<(), AmqpUrlError> {
        // Go's `Values.Get`: the first value of a repeated parameter.
        let mut seen = std::collections::HashSet::new();
        for (k, v) in u.query_pairs() {
            if k == "auth_mechanism" {
                self.auth_mechanisms
                    .push(match v.to_ascii_lowercase().as_str() {
                        "plain" => AuthMechanism::Plain,
                        "amqplain" => AuthMechanism::AmqPlain,
                        "external" => AuthMechanism::External,
                        _ => return Err(AmqpUrlError::AuthMechanism(v.into_owned())),
                    });
                continue;
            }
            if !seen.insert(k.clone()) {
                continue;
            }
            match k.as_ref() {
                "heartbeat" => self.heartbeat = Some(number("heartbeat", &v)?),
                "connection_timeout" => {
                    self.connection_timeout = Some(number("connection_timeout", &v)?)
                }
                "channel_max" => self.channel_max = Some(number("channel_max", &v)?),
                "frame_size" => self.frame_size = Some(number("frame_size", &v)?),
                "certfile" => self.certfile = Some(v.into_owned()),
                "keyfile" => self.keyfile = Some(v.into_owned()),
                "cacertfile" => self.cacertfile = Some(v.into_owned()),
                "server_name_indication" => self.server_name = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> AmqpUrl {
        AmqpUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn vhost_forms_follow_amqp091_go() {
        for (url, vhost) in [
            ("amqp://u:p@h:5672", "/"),
            ("amqp://u:p@h:5672/", "/"),
            ("amqp://u:p@h:5672/%2F", "/"),
            ("amqp://u:p@h:5672/%2f", "/"),
            ("amqp://u:p@h:5672/name", "name"),
            ("amqp://u:p@h:5672/a%2Fb", "a/b"),
            ("amqp://u:p@h:5672/a/b", "a/b"),
            ("amqp://u:p@h/my%20vhost", "my vhost"),
            ("amqp://u:p@h:5672/?heartbeat=5", "/"),
            ("amqp:///", "/"),
            ("amqp:///v", "v"),
        ] {
            assert_eq!(parse(url).vhost, vhost, "{url}");
        }
    }

    #[test]
    fn defaults_follow_amqp091_go() {
        let u = parse("amqp://");
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port, u.username.as_str()),
            (AmqpScheme::Amqp, "localhost", 5672, "guest")
        );
        assert_eq!(u.password, "guest");
        let u = parse("amqps://broker.example");
        assert_eq!((u.scheme, u.port), (AmqpScheme::Amqps, 5671));
        // A user without a password keeps the guest password; an empty user is empty (Go).
        let u = parse("amqp://alice@h");
        assert_eq!(
            (u.username.as_str(), u.password.as_str()),
            ("alice", "guest")
        );
        let u = parse("amqp://:pw@h");
        assert_eq!((u.username.as_str(), u.password.as_str()), ("", "pw"));
        let u = parse("amqp://10.0.0.5:5673");
        assert_eq!((u.host.as_str(), u.port), ("10.0.0.5", 5673));
        assert_eq!(parse("amqp://[::1]:5672/").host, "::1");
    }

    #[test]
    fn userinfo_is_percent_decoded() {
        let u = parse("amqp://us%40er:p%40ss%3Aw%2Fd@h:5672/");
        assert_eq!(
            (u.username.as_str(), u.password.as_str()),
            ("us@er", "p@ss:w/d")
        );
        assert!(
            !format!("{u:?}").contains("p@ss"),
            "Debug hides the password"
        );
    }

    #[test]
    fn query_parameters_follow_amqp091_go() {
        let u = parse(
            "amqps://h/?heartbeat=15&connection_timeout=2500&channel_max=7&frame_size=131072\
             &auth_mechanism=external&auth_mechanism=plain&certfile=/c.pem&keyfile=/k.pem\
             &cacertfile=/ca.pem&server_name_indication=rabbit.example&other=1&heartbeat=99",
        );
        assert_eq!(u.heartbeat, Some(15), "the first value wins");
        assert_eq!(u.connection_timeout, Some(2500));
        assert_eq!((u.channel_max, u.frame_size), (Some(7), Some(131072)));
        assert_eq!(
            u.auth_mechanisms,
            [AuthMechanism::External, AuthMechanism::Plain]
        );
        assert_eq!(u.certfile.as_deref(), Some("/c.pem"));
        assert_eq!(u.keyfile.as_deref(), Some("/k.pem"));
        assert_eq!(u.cacertfile.as_deref(), Some("/ca.pem"));
        assert_eq!(u.server_name.as_deref(), Some("rabbit.example"));
    }

    #[test]
    fn refusals() {
        for (url, err) in [
            ("http://h", AmqpUrlError::Scheme),
            ("h:5672", AmqpUrlError::Scheme),
            ("amqp://u:p@h /", AmqpUrlError::Whitespace),
            ("amqp://h/%zz", AmqpUrlError::Escape("path")),
            (
                "amqp://h/?heartbeat=soon",
                AmqpUrlError::Number {
                    name: "heartbeat",
                    value: "soon".into(),
                },
            ),
            (
                "amqp://h/?auth_mechanism=kerberos",
                AmqpUrlError::AuthMechanism("kerberos".into()),
            ),
        ] {
            assert_eq!(AmqpUrl::parse(url), Err(err), "{url}");
        }
        assert!(matches!(
            AmqpUrl::parse("amqp://h:99999/"),
            Err(AmqpUrlError::Syntax(_))
        ));
    }
}
