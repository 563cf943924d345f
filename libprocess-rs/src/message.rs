//! Messages: protobuf payloads addressed by their full type name.
//!
//! A message on the bus is an [`Envelope`]: sender, receiver, name and body. The name is
//! the protobuf full type name (`mesos.internal.RegisterSlaveMessage`), as in Mesos's
//! `ProtobufProcess`. Between processes of the same node the body travels as the typed
//! value itself ([`Body::Local`], no encoding); across the network it is the binary
//! protobuf ([`Body::Encoded`]). A receiving process decodes through its
//! [`Inbound`] enum, usually declared with [`protocol!`](crate::protocol).

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::pid::Pid;

/// What a type needs to travel on the bus: a prost message that knows its full name.
///
/// Generated code gets `prost::Name` from prost-build's `enable_type_names()`.
pub trait ProtoMessage: prost::Message + prost::Name + Default + Send + 'static {}

impl<T: prost::Message + prost::Name + Default + Send + 'static> ProtoMessage for T {}

/// Hashes a `TypeId` by taking its bits as they are (they are already a hash).
#[derive(Default)]
struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }
}

thread_local! {
    static NAME_CACHE: RefCell<HashMap<TypeId, MessageName, BuildHasherDefault<TypeIdHasher>>> =
        RefCell::new(HashMap::default());
}

/// The name of a message: the protobuf full type name.
///
/// Typed sends carry the name as two static strings (no allocation); names read from
/// the wire are owned.
#[derive(Clone)]
pub enum MessageName {
    /// `package` + `.` + `name`, from a type's `prost::Name` constants.
    Typed {
        /// The protobuf package (`mesos.internal`).
        package: &'static str,
        /// The message name within the package (`RegisterSlaveMessage`).
        name: &'static str,
    },
    /// A name as received (from the wire or a raw send).
    Owned(Arc<str>),
}

impl MessageName {
    /// The name of `T`: its protobuf full name, split at the last `.`.
    ///
    /// prost's `Name::NAME` of a nested message is only its own name (`Message` for
    /// `mesos.scheduler.Event.Message`), so the split is computed once per type from
    /// `full_name()` and cached per thread; after that no allocation happens.
    pub fn of<T: prost::Name + 'static>() -> MessageName {
        NAME_CACHE.with(|cache| {
            if let Some(name) = cache.borrow().get(&TypeId::of::<T>()) {
                return name.clone();
            }
            let full = T::full_name();
            let name =
                if full.len() == T::PACKAGE.len() + 1 + T::NAME.len() || T::PACKAGE.is_empty() {
                    MessageName::Typed { package: T::PACKAGE, name: T::NAME }
                } else {
                    let (package, name) = full.rsplit_once('.').unwrap_or(("", full.as_str()));
                    // Leaked once per nested message type per thread: a small, bounded set.
                    MessageName::Typed {
                        package: Box::leak(package.to_string().into_boxed_str()),
                        name: Box::leak(name.to_string().into_boxed_str()),
                    }
                };
            cache.borrow_mut().insert(TypeId::of::<T>(), name.clone());
            name
        })
    }

    /// A name given as text.
    pub fn owned(name: &str) -> MessageName {
        MessageName::Owned(Arc::from(name))
    }

    /// True when this is the name of `T`. Allocation free after the first use.
    pub fn is<T: prost::Name + 'static>(&self) -> bool {
        match MessageName::of::<T>() {
            MessageName::Typed { package, name } => self.matches(package, name),
            MessageName::Owned(full) => *self == MessageName::Owned(full),
        }
    }

    /// True when the full name is `full`.
    fn is_full(&self, full: &str) -> bool {
        match self {
            MessageName::Owned(mine) => **mine == *full,
            MessageName::Typed { package: "", name } => *name == full,
            MessageName::Typed { package, name } => {
                full.len() == package.len() + 1 + name.len()
                    && full.starts_with(package)
                    && full.as_bytes()[package.len()] == b'.'
                    && full.ends_with(name)
            }
        }
    }

    fn matches(&self, package: &str, name: &str) -> bool {
        match self {
            MessageName::Typed { package: p, name: n } => *n == name && *p == package,
            MessageName::Owned(full) => {
                if package.is_empty() {
                    return &**full == name;
                }
                full.len() == package.len() + 1 + name.len()
                    && full.starts_with(package)
                    && full.as_bytes()[package.len()] == b'.'
                    && full.ends_with(name)
            }
        }
    }

    /// The length of the full name.
    pub(crate) fn len(&self) -> usize {
        match self {
            MessageName::Typed { package: "", name } => name.len(),
            MessageName::Typed { package, name } => package.len() + 1 + name.len(),
            MessageName::Owned(full) => full.len(),
        }
    }

    /// Appends the full name to `out` (no intermediate string).
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            MessageName::Typed { package: "", name } => out.extend_from_slice(name.as_bytes()),
            MessageName::Typed { package, name } => {
                out.extend_from_slice(package.as_bytes());
                out.push(b'.');
                out.extend_from_slice(name.as_bytes());
            }
            MessageName::Owned(full) => out.extend_from_slice(full.as_bytes()),
        }
    }

    /// The full name as an owned string.
    pub fn to_full(&self) -> Arc<str> {
        match self {
            MessageName::Owned(full) => full.clone(),
            typed => Arc::from(typed.to_string()),
        }
    }
}

impl PartialEq for MessageName {
    fn eq(&self, other: &MessageName) -> bool {
        match other {
            MessageName::Typed { package, name } => self.matches(package, name),
            MessageName::Owned(full) => match self {
                MessageName::Typed { package, name } => other.matches(package, name),
                MessageName::Owned(mine) => mine == full,
            },
        }
    }
}

impl Eq for MessageName {}

impl fmt::Display for MessageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageName::Typed { package: "", name } => f.write_str(name),
            MessageName::Typed { package, name } => write!(f, "{package}.{name}"),
            MessageName::Owned(full) => f.write_str(full),
        }
    }
}

impl fmt::Debug for MessageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A message body.
pub enum Body {
    /// The typed value, moved between processes of one node without encoding.
    Local(Box<dyn Any + Send>),
    /// The binary protobuf, as read from (or destined for) the wire.
    Encoded(Bytes),
}

impl Body {
    /// The body in binary form, encoding a local value of type `T` if needed.
    /// Returns `None` if the body is local but not a `T`.
    pub fn to_bytes<T: ProtoMessage>(&self) -> Option<Bytes> {
        match self {
            Body::Encoded(bytes) => Some(bytes.clone()),
            Body::Local(value) => value.downcast_ref::<T>().map(|m| Bytes::from(m.encode_to_vec())),
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Local(_) => f.write_str("Body::Local(..)"),
            Body::Encoded(bytes) => write!(f, "Body::Encoded({} bytes)", bytes.len()),
        }
    }
}

/// The inbound connection a message from another node arrived on.
///
/// The sender's pid is only what the `Libprocess-From` header claims, and anyone can
/// write any header; the connection is what the receiving node saw. A process that
/// learned who is at the other end of a connection (the master, once a peer has
/// authenticated on it) can refuse a claimed pid that arrives on another one. Mesos's
/// libprocess has no such notion: it trusts the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Connection {
    /// Unique among the connections of this OS process, never reused.
    pub id: u64,
    /// The peer's socket address (for a simulated network: the sending node's address).
    pub peer: SocketAddr,
}

/// The last connection id handed out.
static LAST_CONNECTION: AtomicU64 = AtomicU64::new(0);

impl Connection {
    /// A new connection from `peer`, with an id no other connection had.
    pub fn open(peer: SocketAddr) -> Connection {
        Connection { id: LAST_CONNECTION.fetch_add(1, Ordering::Relaxed) + 1, peer }
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} from {}", self.id, self.peer)
    }
}

/// A message in flight: who sent it, to whom, its name and its body.
#[derive(Debug)]
pub struct Envelope {
    /// The sender, as it claims to be (over the network: the `Libprocess-From` header).
    pub from: Pid,
    /// The receiver.
    pub to: Pid,
    /// The protobuf full type name.
    pub name: MessageName,
    /// The payload.
    pub body: Body,
    /// The inbound connection it arrived on; `None` for a message from a process of
    /// this node (or an in-process request), which cannot be forged from outside.
    pub via: Option<Connection>,
}

impl Envelope {
    /// An envelope carrying a typed message for local delivery.
    pub fn local<T: ProtoMessage>(from: Pid, to: Pid, message: T) -> Envelope {
        Envelope {
            from,
            to,
            name: MessageName::of::<T>(),
            body: Body::Local(Box::new(message)),
            via: None,
        }
    }

    /// Decodes (or, for a local body, clones) the message as a `T`, if it is one.
    /// Used by test hooks that observe messages without consuming them.
    pub fn peek<T: ProtoMessage + Clone>(&self) -> Option<T> {
        if !self.name.is::<T>() {
            return None;
        }
        match &self.body {
            Body::Local(value) => value.downcast_ref::<T>().cloned(),
            Body::Encoded(bytes) => T::decode(bytes.clone()).ok(),
        }
    }
}

/// Why an inbound message could not be turned into a process's message type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The process does not accept messages of this name.
    #[error("unknown message '{name}'")]
    Unknown {
        /// The message name.
        name: String,
    },
    /// The name is known but the body is not a valid protobuf of that type.
    #[error("malformed message '{name}': {reason}")]
    Malformed {
        /// The message name.
        name: String,
        /// What the protobuf decoder said.
        reason: String,
    },
}

/// The set of messages a process accepts: one enum, one variant per message type.
///
/// Implemented by [`protocol!`](crate::protocol); the runtime calls [`Inbound::decode`]
/// for every delivered message and hands the result to the process's `on_message`.
pub trait Inbound: Sized + Send + 'static {
    /// Turns a delivered message into the enum, or says why not.
    fn decode(name: &MessageName, body: Body) -> Result<Self, DecodeError>;
    /// Takes a local message out of `value`, an `&mut Option<T>`, when `T` is the type
    /// of one of the variants: how a local send skips boxing and name matching. `None`
    /// leaves `value` as it was, and the message then goes through [`Inbound::decode`].
    fn from_local(value: &mut dyn Any) -> Option<Self> {
        let _ = value;
        None
    }
    /// The full names of every accepted message (the process's message table).
    fn names() -> Vec<String>;
}

/// A set of messages a process sends: one enum, one variant per message type, each sent
/// under its own protobuf name.
///
/// Implemented by [`protocol!`](crate::protocol), so a pure core can queue its outputs
/// as one enum and the actor around it sends any of them with one call
/// ([`Context::send_outbound`](crate::Context::send_outbound)).
pub trait Outbound: Send + 'static {
    /// Sends the message inside from `from` to `to`, as [`Node::send`](crate::Node::send)
    /// sends a single protobuf message.
    fn send(self, node: &crate::Node, from: &Pid, to: &Pid);
    /// The protobuf full name of the message inside.
    fn name(&self) -> MessageName;
}

/// Protocols at most this long are searched in order; longer ones through a hash map.
const LINEAR_NAMES: usize = 8;

/// The full names a protocol accepts, in variant order, built once per protocol by
/// [`protocol!`](crate::protocol): a message from the network is matched against plain
/// strings (one compare per variant for a small protocol, one hash lookup for a large
/// one such as the master's) instead of resolving every variant's type name per message.
#[doc(hidden)]
pub struct NameTable {
    names: Vec<Box<str>>,
    /// Full name -> first variant with it; empty for small protocols.
    index: HashMap<Box<str>, usize>,
}

impl NameTable {
    /// A table of `names`, in variant order.
    pub fn new(names: Vec<String>) -> NameTable {
        let names: Vec<Box<str>> = names.into_iter().map(String::into_boxed_str).collect();
        let mut index = HashMap::new();
        if names.len() > LINEAR_NAMES {
            for (i, name) in names.iter().enumerate() {
                index.entry(name.clone()).or_insert(i);
            }
        }
        NameTable { names, index }
    }

    /// The first variant named `name`, as [`MessageName::is`] would find it.
    pub fn find(&self, name: &MessageName) -> Option<usize> {
        match name {
            MessageName::Owned(full) if !self.index.is_empty() => self.index.get(&**full).copied(),
            _ => self.names.iter().position(|candidate| name.is_full(candidate)),
        }
    }
}

/// Decodes a body as `T` (used by [`protocol!`](crate::protocol)).
pub fn decode_body<T: ProtoMessage>(name: &MessageName, body: Body) -> Result<T, DecodeError> {
    match body {
        Body::Local(value) => {
            value.downcast::<T>().map(|boxed| *boxed).map_err(|_| DecodeError::Malformed {
                name: name.to_string(),
                reason: "local body has a different type than its name says".to_string(),
            })
        }
        Body::Encoded(bytes) => T::decode(bytes).map_err(|error| DecodeError::Malformed {
            name: name.to_string(),
            reason: error.to_string(),
        }),
    }
}

/// Declares a set of messages: those a process accepts ([`Inbound`]: the runtime decodes
/// into the enum) and, with the same declaration, those it sends ([`Outbound`]: any
/// variant is sent under its own name). Adding a message is one variant.
///
/// ```
/// # #[derive(Clone, PartialEq, prost::Message)] pub struct Ping { #[prost(uint64, tag = "1")] pub seq: u64 }
/// # impl prost::Name for Ping { const NAME: &'static str = "Ping"; const PACKAGE: &'static str = "demo";
/// #   fn full_name() -> String { "demo.Ping".into() } }
/// libprocess::protocol! {
///     /// What the demo server accepts.
///     pub enum ServerMessage {
///         /// A ping to answer.
///         Ping(Ping),
///     }
/// }
/// use libprocess::Inbound;
/// assert_eq!(ServerMessage::names(), vec!["demo.Ping".to_string()]);
/// ```
#[macro_export]
macro_rules! protocol {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident ( $ty:ty ) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
        }

        impl $crate::Inbound for $name {
            #[allow(unused_mut, unused_variables, unused_assignments)]
            fn decode(
                name: &$crate::MessageName,
                body: $crate::Body,
            ) -> ::std::result::Result<Self, $crate::DecodeError> {
                static NAMES: ::std::sync::OnceLock<$crate::message::NameTable> =
                    ::std::sync::OnceLock::new();
                let names = NAMES.get_or_init(|| {
                    $crate::message::NameTable::new(::std::vec![
                        $( $crate::MessageName::of::<$ty>().to_string() ),*
                    ])
                });
                // Counts down to the matching variant.
                let mut index = names.find(name);
                $(
                    if index == ::std::option::Option::Some(0) {
                        return $crate::decode_body::<$ty>(name, body).map($name::$variant);
                    }
                    index = index.and_then(|i| i.checked_sub(1));
                )*
                Err($crate::DecodeError::Unknown { name: name.to_string() })
            }

            #[allow(unused_variables)]
            fn from_local(value: &mut dyn ::std::any::Any) -> ::std::option::Option<Self> {
                $(
                    if let ::std::option::Option::Some(slot) =
                        value.downcast_mut::<::std::option::Option<$ty>>()
                    {
                        return slot.take().map($name::$variant);
                    }
                )*
                ::std::option::Option::None
            }

            fn names() -> ::std::vec::Vec<::std::string::String> {
                vec![$( <$ty as $crate::prost::Name>::full_name() ),*]
            }
        }

        impl $crate::message::Outbound for $name {
            #[allow(unused_variables)]
            fn send(self, node: &$crate::Node, from: &$crate::Pid, to: &$crate::Pid) {
                match self {
                    $( $name::$variant(message) => node.send(from, to, message), )*
                }
            }

            fn name(&self) -> $crate::MessageName {
                match *self {
                    $( $name::$variant(_) => $crate::MessageName::of::<$ty>(), )*
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Hello {
        #[prost(string, tag = "1")]
        text: String,
    }
    impl prost::Name for Hello {
        const NAME: &'static str = "Hello";
        const PACKAGE: &'static str = "test.pkg";
        fn full_name() -> String {
            "test.pkg.Hello".into()
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Nested {}
    impl prost::Name for Nested {
        const NAME: &'static str = "Nested";
        const PACKAGE: &'static str = "test.pkg";
        fn full_name() -> String {
            "test.pkg.Outer.Nested".into()
        }
    }

    crate::protocol! {
        enum Accepts { Hello(Hello), Nested(Nested) }
    }

    /// Nested messages are named by their full name, not `package.Name`.
    #[test]
    fn nested_names_use_the_full_name() {
        assert_eq!(MessageName::of::<Nested>().to_string(), "test.pkg.Outer.Nested");
        assert!(MessageName::owned("test.pkg.Outer.Nested").is::<Nested>());
        assert!(!MessageName::owned("test.pkg.Nested").is::<Nested>());
        let decoded = Accepts::decode(
            &MessageName::owned("test.pkg.Outer.Nested"),
            Body::Encoded(Bytes::new()),
        );
        assert!(matches!(decoded, Ok(Accepts::Nested(_))));
    }

    /// A protocol longer than the linear search decodes through the hash map, and finds
    /// the first variant of a name, as a small one does.
    #[test]
    fn large_tables_find_the_first_variant() {
        let names: Vec<String> = (0..20).map(|i| format!("p.M{}", i % 15)).collect();
        let table = NameTable::new(names);
        assert_eq!(table.find(&MessageName::owned("p.M3")), Some(3));
        assert_eq!(table.find(&MessageName::owned("p.M14")), Some(14));
        assert_eq!(table.find(&MessageName::owned("p.M15")), None);
        assert_eq!(table.find(&MessageName::Typed { package: "p", name: "M3" }), Some(3));
        let small = NameTable::new(vec!["Bare".into(), "a.b.C".into()]);
        assert_eq!(small.find(&MessageName::Typed { package: "", name: "Bare" }), Some(0));
        assert_eq!(small.find(&MessageName::Typed { package: "a.b", name: "C" }), Some(1));
        assert_eq!(small.find(&MessageName::owned("a.bC")), None);
    }

    /// Typed and owned names compare equal exactly when the full names are equal.
    #[test]
    fn names_compare_by_full_name() {
        let typed = MessageName::of::<Hello>();
        assert_eq!(typed.to_string(), "test.pkg.Hello");
        assert_eq!(typed, MessageName::owned("test.pkg.Hello"));
        assert!(MessageName::owned("test.pkg.Hello").is::<Hello>());
        assert!(!MessageName::owned("test.pkgXHello").is::<Hello>());
        assert!(!MessageName::owned("test.pkg.Hell").is::<Hello>());
        assert!(!MessageName::owned("x.test.pkg.Hello").is::<Hello>());
    }

    /// The protocol enum decodes local and encoded bodies and rejects unknown or
    /// malformed ones with a precise error.
    #[test]
    fn protocol_decodes_and_rejects() {
        let local = Body::Local(Box::new(Hello { text: "a".into() }));
        let Ok(Accepts::Hello(h)) = Accepts::decode(&MessageName::of::<Hello>(), local) else {
            panic!("local decode failed")
        };
        assert_eq!(h.text, "a");

        let bytes = Bytes::from(Hello { text: "b".into() }.encode_to_vec());
        let Ok(Accepts::Hello(h)) =
            Accepts::decode(&MessageName::owned("test.pkg.Hello"), Body::Encoded(bytes))
        else {
            panic!("encoded decode failed")
        };
        assert_eq!(h.text, "b");

        let unknown =
            Accepts::decode(&MessageName::owned("nope.Nope"), Body::Encoded(Bytes::new()));
        assert!(matches!(unknown, Err(DecodeError::Unknown { name }) if name == "nope.Nope"));

        let garbage = Body::Encoded(Bytes::from_static(&[0x0a, 0xff, 0xff]));
        let malformed = Accepts::decode(&MessageName::of::<Hello>(), garbage);
        assert!(matches!(malformed, Err(DecodeError::Malformed { .. })));
        assert_eq!(
            Accepts::names(),
            vec!["test.pkg.Hello".to_string(), "test.pkg.Outer.Nested".to_string()]
        );
    }

    /// The same enum names each variant's message for sending.
    #[test]
    fn protocol_names_outbound_messages() {
        assert_eq!(Outbound::name(&Accepts::Hello(Hello::default())).to_string(), "test.pkg.Hello");
        assert_eq!(
            Outbound::name(&Accepts::Nested(Nested {})).to_string(),
            "test.pkg.Outer.Nested"
        );
    }
}
