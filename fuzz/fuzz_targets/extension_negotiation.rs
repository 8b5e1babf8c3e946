//! permessage-deflate negotiation on arbitrary `Sec-WebSocket-Extensions` values: never panics;
//! whatever a server answers parses; and a server's answer to our own client's offer is always
//! accepted by that client, for every pair of configurations.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::deflate::{DeflateConfig, client_offer, negotiate_client, negotiate_server};
use wsproto::handshake::parse_extensions;

#[derive(Arbitrary, Debug)]
struct Side {
    snct: bool,
    cnct: bool,
    sbits: u8,
    cbits: u8,
}

impl Side {
    fn config(&self) -> DeflateConfig {
        DeflateConfig::default()
            .server_no_context_takeover(self.snct)
            .client_no_context_takeover(self.cnct)
            .server_max_window_bits(8 + self.sbits % 8)
            .client_max_window_bits(8 + self.cbits % 8)
    }
}

fuzz_target!(|input: (Side, Side, &[u8])| {
    let (client, server, header) = input;
    let (client, server) = (client.config(), server.config());
    // Arbitrary offers: a server either declines or answers with something that parses.
    if let Ok(offers) = parse_extensions([header]) {
        if let Some((response, _)) = negotiate_server(&server, &offers) {
            let parsed = parse_extensions([response.as_bytes()]).expect("our response parses");
            assert_eq!(parsed.len(), 1);
        }
        let _ = negotiate_client(Some(&client), &offers);
    }
    // Our own offer: whatever the server answers, our client accepts it.
    let offer = client_offer(&client);
    let offers = parse_extensions([offer.as_bytes()]).expect("our offer parses");
    if let Some((response, _)) = negotiate_server(&server, &offers) {
        let answer = parse_extensions([response.as_bytes()]).unwrap();
        if let Err(e) = negotiate_client(Some(&client), &answer) {
            panic!("client {client:?} refuses server {server:?} answer {response:?}: {e}");
        }
    }
});
