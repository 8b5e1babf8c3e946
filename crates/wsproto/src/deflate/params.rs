//! permessage-deflate negotiation (RFC 7692 §5 and §7.1), as pure functions over parsed offers.

use super::DeflateConfig;
use crate::error::HandshakeError;
use crate::handshake::ExtensionOffer;
use alloc::format;
use alloc::string::{String, ToString};

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// The four parameters, as one side wrote them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Params {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    /// `Some(None)`: the parameter without a value (a client saying it supports the limit).
    pub client_max_window_bits: Option<Option<u8>>,
}

/// Why a parameter list is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InvalidParams(pub String);

/// Parses `8`..`15`, written without leading zeros or signs.
fn window_bits(value: &str) -> Option<u8> {
    match value.len() {
        1 | 2 if !value.starts_with('0') && value.bytes().all(|b| b.is_ascii_digit()) => {
            value.parse().ok().filter(|b| (8..=15).contains(b))
        }
        _ => None,
    }
}

/// Parses the parameters of one `permessage-deflate` element: no unknown, duplicate or
/// out-of-range parameters, and values only where the RFC allows them.
pub(crate) fn parse(offer: &ExtensionOffer) -> Result<Params, InvalidParams> {
    let mut p = Params::default();
    let mut seen = [false; 4];
    for (name, value) in &offer.params {
        let (slot, ok) = match name.as_str() {
            "server_no_context_takeover" => {
                p.server_no_context_takeover = true;
                (0, value.is_none())
            }
            "client_no_context_takeover" => {
                p.client_no_context_takeover = true;
                (1, value.is_none())
            }
            "server_max_window_bits" => {
                p.server_max_window_bits = value.as_deref().and_then(window_bits);
                (2, p.server_max_window_bits.is_some())
            }
            "client_max_window_bits" => match value.as_deref() {
                None => {
                    p.client_max_window_bits = Some(None);
                    (3, true)
                }
                Some(v) => {
                    p.client_max_window_bits = Some(window_bits(v));
                    (3, window_bits(v).is_some())
                }
            },
            other => return Err(InvalidParams(format!("unknown parameter {other}"))),
        };
        if seen[slot] {
            return Err(InvalidParams(format!("duplicate parameter {name}")));
        }
        seen[slot] = true;
        if !ok {
            return Err(InvalidParams(format!("invalid value for {name}")));
        }
    }
    Ok(p)
}

/// Writes parameters as an extension element.
pub(crate) fn format_params(p: &Params) -> String {
    let mut s = String::from(NAME);
    if p.server_no_context_takeover {
        s.push_str("; server_no_context_takeover");
    }
    if p.client_no_context_takeover {
        s.push_str("; client_no_context_takeover");
    }
    if let Some(bits) = p.server_max_window_bits {
        s.push_str("; server_max_window_bits=");
        s.push_str(&bits.to_string());
    }
    match p.client_max_window_bits {
        Some(Some(bits)) => {
            s.push_str("; client_max_window_bits=");
            s.push_str(&bits.to_string());
        }
        Some(None) => s.push_str("; client_max_window_bits"),
        None => {}
    }
    s
}

/// What one side agreed to do, from its own point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Agreement {
    /// Reset our compressor after every message.
    pub local_no_context_takeover: bool,
    /// The peer resets its compressor after every message, so our decompressor may too.
    pub remote_no_context_takeover: bool,
    /// The largest window our compressor may use.
    pub local_window_bits: u8,
    /// The largest window the peer's compressor uses (our decompressor's window).
    pub remote_window_bits: u8,
}

/// The client's offer.
pub(crate) fn client_offer(cfg: &DeflateConfig) -> Params {
    Params {
        server_no_context_takeover: cfg.server_no_context_takeover,
        client_no_context_takeover: cfg.client_no_context_takeover,
        server_max_window_bits: (cfg.server_max_window_bits < 15).then_some(cfg.server_max_window_bits),
        // Always say that we can limit our window: servers that want a small one can then ask.
        client_max_window_bits: Some((cfg.client_max_window_bits < 15).then_some(cfg.client_max_window_bits)),
    }
}

/// Client: checks the server's answer against the offer and returns what was agreed.
pub(crate) fn client_accept(cfg: &DeflateConfig, response: &ExtensionOffer) -> Result<Agreement, HandshakeError> {
    let offered = client_offer(cfg);
    let bad = |why: String| HandshakeError::UnexpectedExtension(format!("{response} ({why})"));
    let p = parse(response).map_err(|e| bad(e.0))?;
    if offered.server_no_context_takeover && !p.server_no_context_takeover {
        return Err(bad("server_no_context_takeover was requested but not confirmed".into()));
    }
    let remote_window_bits = match (offered.server_max_window_bits, p.server_max_window_bits) {
        (Some(asked), Some(got)) if got > asked => return Err(bad("server_max_window_bits above the requested value".into())),
        (Some(_), None) => return Err(bad("server_max_window_bits was requested but not confirmed".into())),
        (_, Some(got)) => got,
        (None, None) => 15,
    };
    let local_window_bits = match (offered.client_max_window_bits, p.client_max_window_bits) {
        (_, None) => cfg.client_max_window_bits,
        (None, Some(_)) => return Err(bad("client_max_window_bits was not offered".into())),
        (Some(_), Some(None)) => return Err(bad("client_max_window_bits needs a value in a response".into())),
        (Some(Some(ours)), Some(Some(theirs))) if theirs > ours => {
            return Err(bad("client_max_window_bits above the offered value".into()));
        }
        (Some(_), Some(Some(theirs))) => theirs.min(cfg.client_max_window_bits),
    };
    Ok(Agreement {
        local_no_context_takeover: p.client_no_context_takeover || cfg.client_no_context_takeover,
        remote_no_context_takeover: p.server_no_context_takeover,
        local_window_bits,
        remote_window_bits,
    })
}

/// Server: answers the first offer it can honour. Returns the response element and the
/// agreement, or `None` to decline every offer.
pub(crate) fn server_accept<'a>(cfg: &DeflateConfig, offers: impl IntoIterator<Item = &'a ExtensionOffer>) -> Option<(Params, Agreement)> {
    for offer in offers.into_iter().filter(|o| o.name.eq_ignore_ascii_case(NAME)) {
        // An offer with invalid parameters is declined; the next one may still be fine.
        let Ok(p) = parse(offer) else { continue };
        let server_bits = match p.server_max_window_bits {
            Some(asked) => Some(asked.min(cfg.server_max_window_bits)),
            None => (cfg.server_max_window_bits < 15).then_some(cfg.server_max_window_bits),
        };
        let client_bits = match p.client_max_window_bits {
            // The client can limit its window: ask for ours, or confirm its own limit.
            Some(offered) => match (offered, cfg.client_max_window_bits) {
                (Some(o), c) => Some(o.min(c)),
                (None, c) if c < 15 => Some(c),
                (None, _) => None,
            },
            // It cannot: its window is 15 bits.
            None => None,
        };
        // A server that wants a small client window from a client that cannot promise one asks
        // it not to keep its context instead (RFC 7692 §7.1.1.2 lets a server always ask): the
        // large window then lives only while a message is being inflated, and between messages
        // nothing of it is kept. The client keeps compression, which declining would take away.
        let cannot_limit = p.client_max_window_bits.is_none() && cfg.client_max_window_bits < 15;
        let response = Params {
            server_no_context_takeover: p.server_no_context_takeover || cfg.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover || cfg.client_no_context_takeover || cannot_limit,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits.map(Some),
        };
        let agreement = Agreement {
            local_no_context_takeover: response.server_no_context_takeover,
            remote_no_context_takeover: response.client_no_context_takeover,
            local_window_bits: server_bits.unwrap_or(15),
            remote_window_bits: client_bits.unwrap_or(15),
        };
        return Some((response, agreement));
    }
    None
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    use super::*;
    use crate::handshake::parse_extensions;

    fn offers(header: &str) -> Vec<ExtensionOffer> {
        parse_extensions([header.as_bytes()]).unwrap()
    }

    fn server(cfg: &DeflateConfig, header: &str) -> Option<(String, Agreement)> {
        server_accept(cfg, &offers(header)).map(|(p, a)| (format_params(&p), a))
    }

    fn client(cfg: &DeflateConfig, header: &str) -> Result<Agreement, HandshakeError> {
        client_accept(cfg, &offers(header)[0])
    }

    const PLAIN: Agreement =
        Agreement { local_no_context_takeover: false, remote_no_context_takeover: false, local_window_bits: 15, remote_window_bits: 15 };

    #[test]
    fn parameters_parse_strictly() {
        let p =
            parse(&offers("permessage-deflate; server_no_context_takeover; client_max_window_bits; server_max_window_bits=10")[0]).unwrap();
        assert_eq!(
            p,
            Params {
                server_no_context_takeover: true,
                client_no_context_takeover: false,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(None)
            }
        );
        for bad in [
            "permessage-deflate; x=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits=10; client_max_window_bits",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=\"x\"",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; client_max_window_bits=0",
        ] {
            assert!(parse(&offers(bad)[0]).is_err(), "{bad}");
        }
        assert_eq!(parse(&offers("permessage-deflate; server_max_window_bits=\"8\"")[0]).unwrap().server_max_window_bits, Some(8));
    }

    #[test]
    fn client_offers_follow_the_configuration() {
        assert_eq!(format_params(&client_offer(&DeflateConfig::default())), "permessage-deflate; client_max_window_bits");
        let cfg = DeflateConfig::default()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(10)
            .client_max_window_bits(9);
        assert_eq!(
            format_params(&client_offer(&cfg)),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"
        );
    }

    #[test]
    fn server_matrix_with_exact_responses() {
        let d = DeflateConfig::default();
        let cases: &[(&str, Option<(&str, Agreement)>)] = &[
            ("permessage-deflate", Some(("permessage-deflate", PLAIN))),
            ("permessage-deflate; client_max_window_bits", Some(("permessage-deflate", PLAIN))),
            (
                "permessage-deflate; client_max_window_bits=10",
                Some(("permessage-deflate; client_max_window_bits=10", Agreement { remote_window_bits: 10, ..PLAIN })),
            ),
            (
                "permessage-deflate; server_max_window_bits=9",
                Some(("permessage-deflate; server_max_window_bits=9", Agreement { local_window_bits: 9, ..PLAIN })),
            ),
            (
                "permessage-deflate; server_max_window_bits=8",
                Some(("permessage-deflate; server_max_window_bits=8", Agreement { local_window_bits: 8, ..PLAIN })),
            ),
            (
                "permessage-deflate; server_no_context_takeover",
                Some(("permessage-deflate; server_no_context_takeover", Agreement { local_no_context_takeover: true, ..PLAIN })),
            ),
            (
                "permessage-deflate; client_no_context_takeover",
                Some(("permessage-deflate; client_no_context_takeover", Agreement { remote_no_context_takeover: true, ..PLAIN })),
            ),
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11",
                Some((
                    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11",
                    Agreement {
                        local_no_context_takeover: true,
                        remote_no_context_takeover: true,
                        local_window_bits: 12,
                        remote_window_bits: 11,
                    },
                )),
            ),
            // Invalid first offer declined, second accepted.
            (
                "permessage-deflate; server_max_window_bits=20, permessage-deflate; client_no_context_takeover",
                Some(("permessage-deflate; client_no_context_takeover", Agreement { remote_no_context_takeover: true, ..PLAIN })),
            ),
            ("permessage-deflate; foo", None),
            ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
            ("x-webkit-deflate-frame", None),
        ];
        for (header, want) in cases {
            let got = server(&d, header);
            let want = want.map(|(s, a)| (s.to_string(), a));
            assert_eq!(got, want, "{header}");
        }
    }

    #[test]
    fn server_configuration_imposes_its_own_limits() {
        let cfg = DeflateConfig::default()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(10)
            .client_max_window_bits(9);
        assert_eq!(
            server(&cfg, "permessage-deflate; client_max_window_bits"),
            Some((
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9".to_string(),
                Agreement { local_no_context_takeover: true, remote_no_context_takeover: true, local_window_bits: 10, remote_window_bits: 9 }
            ))
        );
        // A client that cannot limit its window is told not to keep its context.
        let lean = DeflateConfig::default().client_max_window_bits(10);
        assert_eq!(
            server(&lean, "permessage-deflate"),
            Some((
                "permessage-deflate; client_no_context_takeover".to_string(),
                Agreement {
                    local_no_context_takeover: false,
                    remote_no_context_takeover: true,
                    local_window_bits: 15,
                    remote_window_bits: 15
                }
            ))
        );
        // The smaller of the two requests wins.
        assert_eq!(
            server(&cfg, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=8").unwrap().1.local_window_bits,
            10
        );
        assert_eq!(
            server(&cfg, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=8").unwrap().1.remote_window_bits,
            8
        );
    }

    #[test]
    fn client_matrix() {
        let d = DeflateConfig::default();
        assert_eq!(client(&d, "permessage-deflate"), Ok(PLAIN));
        assert_eq!(client(&d, "permessage-deflate; client_max_window_bits=9"), Ok(Agreement { local_window_bits: 9, ..PLAIN }));
        assert_eq!(client(&d, "permessage-deflate; server_max_window_bits=10"), Ok(Agreement { remote_window_bits: 10, ..PLAIN }));
        assert_eq!(
            client(&d, "permessage-deflate; server_no_context_takeover"),
            Ok(Agreement { remote_no_context_takeover: true, ..PLAIN })
        );
        assert_eq!(
            client(&d, "permessage-deflate; client_no_context_takeover"),
            Ok(Agreement { local_no_context_takeover: true, ..PLAIN })
        );
        for bad in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; bogus",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        ] {
            assert!(client(&d, bad).is_err(), "{bad}");
        }
        let asked = DeflateConfig::default().server_no_context_takeover(true).server_max_window_bits(10).client_max_window_bits(10);
        assert!(client(&asked, "permessage-deflate; server_max_window_bits=10").is_err(), "no_context_takeover not confirmed");
        assert!(client(&asked, "permessage-deflate; server_no_context_takeover").is_err(), "window not confirmed");
        assert!(client(&asked, "permessage-deflate; server_no_context_takeover; server_max_window_bits=11").is_err());
        assert!(
            client(&asked, "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11").is_err()
        );
        assert_eq!(
            client(&asked, "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8"),
            Ok(Agreement {
                local_no_context_takeover: false,
                remote_no_context_takeover: true,
                local_window_bits: 8,
                remote_window_bits: 9
            })
        );
    }
}
