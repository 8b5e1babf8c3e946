//! `serve --redis`: several nodes act as one chat through a Redis server.
//!
//! Per room, Redis holds three keys: a stream of the room's lines (its history, bounded in
//! length and age), a hash of each node's member count with an expiry time (its presence), and a
//! pub/sub channel. A line said on a node goes through one Lua script, which appends it to the
//! stream (the entry id becomes the line's id), counts the room's members across the nodes, and
//! publishes it with the node's id, all at once, so the channel's order is the history's. The
//! node delivers its own lines to its members when the script answers, and skips them when the
//! channel brings them back; other nodes deliver them from the channel.
//!
//! One task per node talks to Redis: it subscribes to a room's channel while the node has
//! members there, refreshes the node's presence, and sends lines in pipelined batches. When
//! Redis is away, it logs one warning, delivers lines on this node only (nothing queues for
//! Redis), retries with backoff, and on its return resubscribes and refreshes every room.

use crate::rooms::{Line, LineId, Rooms};
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use wsproto_tokio::PreparedMessage;

/// How `serve --redis` uses Redis.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// `redis://HOST:PORT/`.
    pub(crate) url: String,
    /// How long a node's presence counts after its last refresh: a node that dies drops out of
    /// the counts within it.
    pub(crate) presence_ttl: Duration,
    /// How far back a reconnecting client can recover what it missed.
    pub(crate) history_window: Duration,
    /// The most lines a room's history keeps.
    pub(crate) history_len: usize,
}

/// Lines waiting for Redis. When Redis is slow and this fills, lines are delivered on this node
/// only, as when Redis is away.
const QUEUE: usize = 1024;
/// The most lines sent to Redis in one pipeline.
const BATCH: usize = 64;
/// The first wait before reconnecting to Redis, and the longest.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long a Redis command or connection attempt may take before Redis counts as away.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// The Lua helpers both scripts use: Redis's clock, and the room's members across the nodes
/// (dropping the entries of nodes that stopped refreshing).
macro_rules! lua_helpers {
    () => {
        r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function online(key, now)
  local total = 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local count, expires = string.match(fields[i + 1], '^(%d+):(%d+)$')
    if count and tonumber(expires) > now then
      total = total + tonumber(count)
    else
      redis.call('HDEL', key, fields[i])
    end
  end
  return total
end
"#
    };
}

/// KEYS: presence hash. ARGV: node, its member count, TTL in ms. Returns the room's total.
const PRESENCE: &str = concat!(
    lua_helpers!(),
    r#"
local now = now_ms()
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. string.format('%d', now + tonumber(ARGV[3])))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = online(KEYS[1], now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return total
"#
);

/// KEYS: history stream, presence hash, channel, the history's trim mark. ARGV: node, the line
/// as JSON, the history's length, its window in ms. Appends, trims, counts, publishes; returns
/// {id, the line with id and count}.
///
/// Trimming is from the oldest line, by length and by age, and remembers the newest line it
/// removed (the trim mark): a client whose last line is older than the mark has missed lines
/// that are gone. (Redis's own `max-deleted-entry-id` follows XDEL only, not trimming.)
const SAY: &str = concat!(
    lua_helpers!(),
    r#"
local function parse_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local now = now_ms()
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[2])
local trimmed = nil
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  local over = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  trimmed = over[#over][1]
end
-- Lines older than the window, from the oldest (a few at a time: at most one per line said
-- leaves by age in a steady room, and a scan from the head is cheaper than one from the tail).
local stale = redis.call('XRANGE', KEYS[1], '-', '(' .. string.format('%d', now - tonumber(ARGV[4])), 'COUNT', 64)
if #stale > 0 then
  local newest = stale[#stale][1]
  local sm, ss = parse_id(newest)
  if trimmed == nil then
    trimmed = newest
  else
    local tm, ts = parse_id(trimmed)
    if sm > tm or (sm == tm and ss > ts) then trimmed = newest end
  end
end
if trimmed then
  local tm, ts = parse_id(trimmed)
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-%d', tm, ts + 1))
  redis.call('SET', KEYS[4], trimmed)
end
local line = cjson.decode(ARGV[2])
line['id'] = id
line['online'] = online(KEYS[2], now)
local out = cjson.encode(line)
redis.call('PUBLISH', KEYS[3], ARGV[1] .. ' ' .. id .. ' ' .. out)
return {id, out}
"#
);

/// KEYS: history stream, its trim mark. ARGV: the last id the client saw, the most entries to
/// return. Returns {the trim mark ('0-0' if nothing was trimmed, '' if the history is gone),
/// the entries after the id}.
const HISTORY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', {}} end
local trimmed = redis.call('GET', KEYS[2])
if not trimmed then trimmed = '0-0' end
return {trimmed, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])}
"#;

fn history_key(room: &str) -> String {
    format!("wsproto:{room}:history")
}

fn trim_mark_key(room: &str) -> String {
    format!("wsproto:{room}:trimmed")
}

fn presence_key(room: &str) -> String {
    format!("wsproto:{room}:presence")
}

fn channel(room: &str) -> String {
    format!("wsproto:{room}:chat")
}

/// The room a channel belongs to.
fn room_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix("wsproto:")?.strip_suffix(":chat")
}

/// A random number, from the standard library's per-process hash keys (this crate has no
/// random number generator of its own to add for two uses).
fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// A line on its way to Redis.
struct Outgoing {
    room: Arc<str>,
    line: serde_json::Value,
}

/// This node's link to the others: the handle that connection tasks use.
pub(crate) struct Broker {
    outgoing: mpsc::Sender<Outgoing>,
    /// The command connection while Redis is up, for history reads.
    connection: Arc<Mutex<Option<MultiplexedConnection>>>,
    settings: Settings,
}

/// What a reconnecting client missed.
pub(crate) struct History {
    /// Lines after its last id were trimmed (older than the window, or past the length): what
    /// follows does not reach back to where it left.
    pub(crate) gap: bool,
    /// The lines after its last id that the history still has, in order.
    pub(crate) lines: Vec<Line>,
}

impl Broker {
    /// Checks the URL and starts the task that talks to Redis (which connects in the
    /// background: `serve` starts whether Redis is up or not).
    pub(crate) fn start(settings: Settings, rooms: Arc<Rooms>) -> Result<Broker, String> {
        let client = redis::Client::open(settings.url.as_str()).map_err(|e| format!("--redis {}: {e}", settings.url))?;
        let node: Arc<str> = format!("{:016x}", random_u64()).into();
        let (outgoing, queue) = mpsc::channel(QUEUE);
        let connection = Arc::new(Mutex::new(None));
        let task = Task { client, node, rooms, queue, connection: connection.clone(), settings: settings.clone() };
        tokio::spawn(task.run());
        Ok(Broker { outgoing, connection, settings })
    }

    /// Says `line` in `room`, through Redis to every node. When the queue to Redis is full (or
    /// the task is gone), gives the line back, for this node's members only.
    pub(crate) fn say(&self, room: Arc<str>, line: serde_json::Value) -> Result<(), serde_json::Value> {
        self.outgoing.try_send(Outgoing { room, line }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(o) | mpsc::error::TrySendError::Closed(o) => o.line,
        })
    }

    /// The room's lines after `after`, if Redis is there to ask.
    pub(crate) async fn history(&self, room: &str, after: LineId) -> Option<History> {
        let mut connection = self.connection.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
        let reply: redis::RedisResult<(String, Vec<StreamEntry>)> = redis::cmd("EVAL")
            .arg(HISTORY)
            .arg(2)
            .arg(history_key(room))
            .arg(trim_mark_key(room))
            .arg(after.to_string())
            .arg(self.settings.history_len)
            .query_async(&mut connection)
            .await;
        let (trimmed, entries) = match reply {
            Ok(r) => r,
            Err(e) => {
                debug!(room, "history read failed: {e}");
                return None;
            }
        };
        let gap = match LineId::parse(&trimmed) {
            Some(trimmed) => trimmed > after,
            // No history at all: whatever the client missed is gone.
            None => true,
        };
        let lines = entries.into_iter().filter_map(|(id, fields)| stored_line(&id, &fields)).collect();
        Some(History { gap, lines })
    }
}

/// A stream entry as XRANGE gives it: its id and its fields and values, flat.
type StreamEntry = (String, Vec<String>);

/// A history entry as the line its members were sent (without the count, which was of then).
fn stored_line(id: &str, fields: &[String]) -> Option<Line> {
    let json = fields.chunks(2).find(|kv| kv[0] == "m").and_then(|kv| kv.get(1))?;
    let mut value: serde_json::Value = serde_json::from_str(json).ok()?;
    value["id"] = id.into();
    value["replayed"] = true.into();
    Some(Line { id: LineId::parse(id), message: PreparedMessage::text(value.to_string()) })
}

/// The task that talks to Redis.
struct Task {
    client: redis::Client,
    node: Arc<str>,
    rooms: Arc<Rooms>,
    queue: mpsc::Receiver<Outgoing>,
    connection: Arc<Mutex<Option<MultiplexedConnection>>>,
    settings: Settings,
}

impl Task {
    async fn run(mut self) {
        let url = self.settings.url.clone();
        let mut delay = RETRY_FIRST;
        let mut away = false;
        loop {
            let failure = match self.connect().await {
                Ok((connection, sink, stream)) => {
                    if away {
                        info!(url, "Redis is back: resubscribed, presence refreshed; rooms span the nodes again");
                    } else {
                        info!(url, node = &*self.node, "joined the other nodes through Redis");
                    }
                    away = false;
                    delay = RETRY_FIRST;
                    *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection.clone());
                    let failure = self.serve(connection, sink, stream).await;
                    *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    match failure {
                        Some(f) => f,
                        None => return,
                    }
                }
                Err(e) => e.to_string(),
            };
            if away {
                debug!(url, "Redis is still away: {failure}");
            } else {
                warn!(url, "Redis is away ({failure}): chat goes on within this node; reconnecting with backoff");
                away = true;
            }
            // Wait before the next attempt, delivering lines on this node meanwhile: nothing
            // queues for Redis while it is away.
            let jittered = delay.mul_f64(0.5 + (random_u64() % 1000) as f64 / 2000.0);
            delay = (delay * 2).min(RETRY_MAX);
            let retry = tokio::time::sleep(jittered);
            tokio::pin!(retry);
            loop {
                tokio::select! {
                    _ = &mut retry => break,
                    outgoing = self.queue.recv() => match outgoing {
                        Some(o) => self.rooms.say_here(&o.room, o.line),
                        None => return,
                    },
                }
            }
        }
    }

    async fn connect(&self) -> redis::RedisResult<(MultiplexedConnection, PubSubSink, PubSubStream)> {
        let config =
            redis::AsyncConnectionConfig::new().set_connection_timeout(Some(REDIS_TIMEOUT)).set_response_timeout(Some(REDIS_TIMEOUT));
        let connection = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        let pubsub = tokio::time::timeout(REDIS_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)))??;
        let (sink, stream) = pubsub.split();
        Ok((connection, sink, stream))
    }

    /// Runs the link while Redis answers. Returns why it stopped (`None`: `serve` is ending).
    async fn serve(&mut self, mut connection: MultiplexedConnection, mut sink: PubSubSink, mut stream: PubSubStream) -> Option<String> {
        let mut subscribed = HashSet::new();
        // Whatever changed while Redis was away is redone from the rooms as they are now.
        self.rooms.take_changed();
        if let Err(e) = self.sync(&mut connection, &mut sink, &mut subscribed, self.rooms.all()).await {
            return Some(e.to_string());
        }
        let mut refresh = tokio::time::interval(self.settings.presence_ttl / 3);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        refresh.tick().await;
        loop {
            tokio::select! {
                biased;
                message = stream.next() => match message {
                    Some(m) => self.deliver_another_nodes(&m),
                    None => return Some("the subscription connection closed".into()),
                },
                _ = self.rooms.membership_changed.notified() => {
                    let changed = self.rooms.take_changed();
                    if let Err(e) = self.sync(&mut connection, &mut sink, &mut subscribed, changed).await {
                        return Some(e.to_string());
                    }
                }
                first = self.queue.recv() => {
                    let first = first?;
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match self.queue.try_recv() {
                            Ok(o) => batch.push(o),
                            Err(_) => break,
                        }
                    }
                    // Membership first, so that a join's count includes the one who joined.
                    let changed = self.rooms.take_changed();
                    let synced = self.sync(&mut connection, &mut sink, &mut subscribed, changed).await;
                    let sent = match synced {
                        Ok(()) => self.send(&mut connection, &batch).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = sent {
                        for o in batch {
                            self.rooms.say_here(&o.room, o.line);
                        }
                        return Some(e.to_string());
                    }
                }
                _ = refresh.tick() => {
                    let all = self.rooms.all();
                    if let Err(e) = self.sync(&mut connection, &mut sink, &mut subscribed, all).await {
                        return Some(e.to_string());
                    }
                }
            }
        }
    }

    /// Brings Redis up to date with the member counts of `rooms`: subscribes to a room's channel
    /// while the node has members there, and sets its presence.
    async fn sync(
        &self,
        connection: &mut MultiplexedConnection,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<Arc<str>>,
        rooms: Vec<(Arc<str>, usize)>,
    ) -> redis::RedisResult<()> {
        if rooms.is_empty() {
            return Ok(());
        }
        let ttl = self.settings.presence_ttl.as_millis() as u64;
        let mut pipe = redis::pipe();
        for (room, members) in &rooms {
            if *members > 0 && subscribed.insert(room.clone()) {
                sink.subscribe(channel(room)).await?;
            } else if *members == 0 && subscribed.remove(room) {
                sink.unsubscribe(channel(room)).await?;
            }
            pipe.cmd("EVAL").arg(PRESENCE).arg(1).arg(presence_key(room)).arg(&*self.node).arg(*members).arg(ttl).ignore();
        }
        pipe.query_async::<()>(connection).await
    }

    /// Sends `batch` through the script, in one pipeline, and delivers each line here with the
    /// id and count it came back with.
    async fn send(&self, connection: &mut MultiplexedConnection, batch: &[Outgoing]) -> redis::RedisResult<()> {
        let window = self.settings.history_window.as_millis() as u64;
        let mut pipe = redis::pipe();
        for o in batch {
            pipe.cmd("EVAL")
                .arg(SAY)
                .arg(4)
                .arg(history_key(&o.room))
                .arg(presence_key(&o.room))
                .arg(channel(&o.room))
                .arg(trim_mark_key(&o.room))
                .arg(&*self.node)
                .arg(o.line.to_string())
                .arg(self.settings.history_len)
                .arg(window);
        }
        let replies: Vec<(String, String)> = pipe.query_async(connection).await?;
        for (o, (id, line)) in batch.iter().zip(replies) {
            self.rooms.deliver(&o.room, Line { id: LineId::parse(&id), message: PreparedMessage::text(line) });
        }
        Ok(())
    }

    /// A line from the channel: another node's, for this node's members (this node's own were
    /// delivered when they were sent).
    fn deliver_another_nodes(&self, message: &redis::Msg) {
        let Some(room) = room_of_channel(message.get_channel_name()) else { return };
        let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else { return };
        let mut parts = payload.splitn(3, ' ');
        let (Some(node), Some(id), Some(line)) = (parts.next(), parts.next(), parts.next()) else { return };
        if node == &*self.node {
            return;
        }
        self.rooms.deliver(room, Line { id: LineId::parse(id), message: PreparedMessage::text(line.to_owned()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_channels_name_their_room() {
        assert_eq!(history_key("lobby"), "wsproto:lobby:history");
        assert_eq!(room_of_channel(&channel("a.b-c")), Some("a.b-c"));
        assert_eq!(room_of_channel("other:lobby:chat"), None);
    }

    #[test]
    fn a_stored_line_comes_back_with_its_id_and_marked_as_replayed() {
        let fields = vec!["m".to_owned(), r#"{"type":"message","from":"ada","text":"hi"}"#.to_owned()];
        let line = stored_line("5-1", &fields).unwrap();
        assert_eq!(line.id, Some(LineId(5, 1)));
        let value: serde_json::Value = serde_json::from_slice(line.message.payload()).unwrap();
        assert_eq!(value, serde_json::json!({"type": "message", "from": "ada", "text": "hi", "id": "5-1", "replayed": true}));
        assert!(stored_line("5-2", &["x".to_owned(), "y".to_owned()]).is_none());
    }
}
