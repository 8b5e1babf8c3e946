//! One message to many connections: `Connection::send` on each (the message's `Bytes` cloned,
//! as a fan-out does) against `Connection::send_prepared` with a message encoded once. 1,000
//! server connections without compression; each iteration queues the message on all of them and
//! then takes their output as a vectored write would (the slices are counted, not copied).
//!
//! ```text
//! cargo bench -p wsproto-benches --bench broadcast
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use wsproto::{Bytes, Config, Connection, Instant, Message, PreparedMessage};

const CONNECTIONS: usize = 1000;

fn drain(conn: &mut Connection) -> usize {
    let mut slices = [&[][..]; 8];
    let n = conn.pending_output_slices(&mut slices);
    let total: usize = slices[..n].iter().map(|s| black_box(s.len())).sum();
    conn.advance_output(total);
    total
}

fn broadcast(c: &mut Criterion) {
    let mut g = c.benchmark_group("broadcast");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(20);
    let mut conns: Vec<Connection> =
        (0..CONNECTIONS).map(|_| Connection::upgraded_server(Config::default(), None, Instant::ZERO)).collect();
    for size in [64usize, 1024, 16 << 10] {
        let payload = Bytes::from(vec![b'x'; size]);
        g.throughput(Throughput::Elements(CONNECTIONS as u64));
        g.bench_with_input(BenchmarkId::new("send", size), &size, |b, _| {
            b.iter(|| {
                for conn in conns.iter_mut() {
                    conn.send(Message::Binary(payload.clone())).unwrap();
                    drain(conn);
                }
            })
        });
        g.bench_with_input(BenchmarkId::new("send_prepared", size), &size, |b, _| {
            b.iter(|| {
                let prepared = PreparedMessage::binary(payload.clone());
                for conn in conns.iter_mut() {
                    conn.send_prepared(&prepared).unwrap();
                    drain(conn);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
