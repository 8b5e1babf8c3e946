//! Chat rooms on this node: who is in which room, and the fan-out of a room's lines to its
//! members. Each line is encoded once ([`PreparedMessage`]) and shared by every member's
//! connection. With `--redis` the broker (`broker.rs`) joins the rooms of several nodes: it reads
//! the membership here and delivers other nodes' lines through [`Rooms::deliver`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, broadcast};
use wsproto_tokio::PreparedMessage;

/// The room of `/chat`.
pub(crate) const LOBBY: &str = "lobby";

/// How many lines a room holds for a member that has not taken them yet. A member further
/// behind loses the oldest and is told how many (see `serve::chat`), so that one client that
/// does not read can neither hold the room back nor grow the server's memory.
const ROOM_BACKLOG: usize = 1024;

/// The room a WebSocket path names: `/chat` is the lobby, `/chat/NAME` the room NAME (1 to 64
/// letters, digits, `-`, `_` or `.`); anything else is no room.
pub(crate) fn room_of(path: &str) -> Option<&str> {
    if path == "/chat" || path == "/chat/" {
        return Some(LOBBY);
    }
    let name = path.strip_prefix("/chat/")?;
    let valid = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    valid.then_some(name)
}

/// A line's place in its room's history: a Redis stream entry id, `MILLISECONDS-SEQUENCE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LineId(pub(crate) u64, pub(crate) u64);

impl LineId {
    /// Parses `MILLISECONDS-SEQUENCE` (a bare number is sequence 0, as Redis reads it).
    pub(crate) fn parse(s: &str) -> Option<LineId> {
        let (ms, seq) = s.split_once('-').unwrap_or((s, "0"));
        Some(LineId(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl fmt::Display for LineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// One line of a room, encoded once for every member.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// Its place in the room's history; `None` when it is in no history (no `--redis`, or Redis
    /// was away when it was said).
    pub(crate) id: Option<LineId>,
    pub(crate) message: PreparedMessage,
}

struct Room {
    lines: broadcast::Sender<Line>,
    members: usize,
}

#[derive(Default)]
struct Registry {
    rooms: HashMap<Arc<str>, Room>,
    /// Rooms whose membership changed since the broker last looked.
    changed: HashSet<Arc<str>>,
}

/// The rooms of this node.
#[derive(Default)]
pub(crate) struct Rooms {
    registry: Mutex<Registry>,
    /// Woken when membership changes (a permit is kept if the broker is busy).
    pub(crate) membership_changed: Notify,
}

/// A member's place in a room: its lines, and the room's name.
pub(crate) struct Membership {
    pub(crate) room: Arc<str>,
    pub(crate) lines: broadcast::Receiver<Line>,
}

impl Rooms {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic elsewhere while holding the lock leaves the map consistent (every change is a
        // single insert or field update), so go on with it.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a member to `room`, opening the room if it is new.
    pub(crate) fn join(&self, room: &str) -> Membership {
        let mut registry = self.registry();
        let name: Arc<str> = match registry.rooms.get_key_value(room) {
            Some((name, _)) => name.clone(),
            None => room.into(),
        };
        let entry = registry.rooms.entry(name.clone()).or_insert_with(|| Room { lines: broadcast::channel(ROOM_BACKLOG).0, members: 0 });
        entry.members += 1;
        let lines = entry.lines.subscribe();
        registry.changed.insert(name.clone());
        drop(registry);
        self.membership_changed.notify_one();
        Membership { room: name, lines }
    }

    /// Takes a member out of `room`, closing the room when it was the last.
    pub(crate) fn leave(&self, room: Arc<str>) {
        let mut registry = self.registry();
        if let Some(entry) = registry.rooms.get_mut(&room) {
            entry.members -= 1;
            if entry.members == 0 {
                registry.rooms.remove(&room);
            }
        }
        registry.changed.insert(room);
        drop(registry);
        self.membership_changed.notify_one();
    }

    /// This node's members in `room`.
    pub(crate) fn members(&self, room: &str) -> usize {
        self.registry().rooms.get(room).map_or(0, |r| r.members)
    }

    /// Gives `line` to every member of `room` on this node (none: nobody to tell).
    pub(crate) fn deliver(&self, room: &str, line: Line) {
        if let Some(entry) = self.registry().rooms.get(room) {
            let _ = entry.lines.send(line);
        }
    }

    /// Says `line` to this node's members of `room` only, with their count: the chat without
    /// `--redis`, and with it while Redis is away. Such a line has no id: it is in no history.
    pub(crate) fn say_here(&self, room: &str, mut line: serde_json::Value) {
        line["online"] = self.members(room).into();
        self.deliver(room, Line { id: None, message: PreparedMessage::text(line.to_string()) });
    }

    /// The rooms whose membership changed since the last call, with their member counts now.
    pub(crate) fn take_changed(&self) -> Vec<(Arc<str>, usize)> {
        let mut registry = self.registry();
        let changed = std::mem::take(&mut registry.changed);
        changed.into_iter().map(|room| (room.clone(), registry.rooms.get(&room).map_or(0, |r| r.members))).collect()
    }

    /// Every open room with its member count.
    pub(crate) fn all(&self) -> Vec<(Arc<str>, usize)> {
        self.registry().rooms.iter().map(|(room, r)| (room.clone(), r.members)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_rooms_and_nothing_else() {
        assert_eq!(room_of("/chat"), Some(LOBBY));
        assert_eq!(room_of("/chat/"), Some(LOBBY));
        assert_eq!(room_of("/chat/rust-lang_2.0"), Some("rust-lang_2.0"));
        assert_eq!(room_of("/chat/a/b"), None);
        assert_eq!(room_of("/chat/a b"), None);
        assert_eq!(room_of(&format!("/chat/{}", "x".repeat(65))), None);
        assert_eq!(room_of("/chatroom"), None);
        assert_eq!(room_of("/echo"), None);
    }

    #[test]
    fn line_ids_parse_and_order_as_redis_orders_them() {
        assert_eq!(LineId::parse("1700000000000-3"), Some(LineId(1_700_000_000_000, 3)));
        assert_eq!(LineId::parse("17"), Some(LineId(17, 0)));
        assert_eq!(LineId::parse("x-1"), None);
        assert!(LineId::parse("9-10") > LineId::parse("9-9"));
        assert!(LineId::parse("10-0") > LineId::parse("9-99"));
        assert_eq!(LineId(5, 1).to_string(), "5-1");
    }

    #[test]
    fn rooms_open_with_their_first_member_close_with_their_last_and_report_changes() {
        let rooms = Rooms::default();
        let a = rooms.join("a");
        let b = rooms.join("a");
        let c = rooms.join("b");
        assert_eq!((rooms.members("a"), rooms.members("b")), (2, 1));
        let mut changed = rooms.take_changed();
        changed.sort();
        assert_eq!(changed, vec![("a".into(), 2), ("b".into(), 1)]);
        rooms.leave(a.room);
        rooms.leave(c.room);
        let mut changed = rooms.take_changed();
        changed.sort();
        assert_eq!(changed, vec![("a".into(), 1), ("b".into(), 0)]);
        assert_eq!(rooms.all(), vec![("a".into(), 1)]);
        let mut lines = b.lines.resubscribe();
        rooms.deliver("a", Line { id: Some(LineId(1, 0)), message: PreparedMessage::text("hi") });
        rooms.deliver("b", Line { id: None, message: PreparedMessage::text("nobody") });
        assert_eq!(lines.try_recv().unwrap().id, Some(LineId(1, 0)));
        assert!(lines.try_recv().is_err());
        rooms.leave(b.room.clone());
        assert!(rooms.all().is_empty());
    }
}
