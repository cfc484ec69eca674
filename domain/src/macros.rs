//! Owns the `domain_events!` macro: one place that maps an event enum's variants to their
//! type names, schema versions and JSON payloads.

/// Declares an event enum whose variants each wrap one payload struct, and implements
/// [`crate::DomainEvent`] for it. The variant name is the stored event type; `= n` is the
/// current schema version. `upcaster` rewrites older `(version, payload)` pairs to the
/// current version before decoding.
macro_rules! domain_events {
    (
        $(#[$m:meta])*
        pub enum $name:ident {
            $( $(#[$vm:meta])* $variant:ident($payload:ty) = $ver:literal ),* $(,)?
        }
        upcaster = $up:path;
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vm])* $variant($payload) ),*
        }

        impl $name {
            /// Every event type this enum stores, with its current schema version.
            pub const EVENT_TYPES: &'static [(&'static str, u32)] =
                &[ $( (stringify!($variant), $ver) ),* ];
        }

        impl $crate::aggregate::DomainEvent for $name {
            fn event_type(&self) -> &'static str {
                match self { $( $name::$variant(_) => stringify!($variant) ),* }
            }
            fn schema_version(&self) -> u32 {
                match self { $( $name::$variant(_) => $ver ),* }
            }
            fn to_payload(&self) -> serde_json::Value {
                match self { $( $name::$variant(p) => $crate::aggregate::payload_of(p) ),* }
            }
            fn from_stored(
                event_type: &str,
                schema_version: u32,
                payload: serde_json::Value,
            ) -> Result<Self, $crate::error::EventDecodeError> {
                let (schema_version, payload) = $up(event_type, schema_version, payload)?;
                match event_type {
                    $( stringify!($variant) => {
                        if schema_version != $ver {
                            return Err($crate::aggregate::unsupported(event_type, schema_version));
                        }
                        Ok($name::$variant($crate::aggregate::decode(event_type, payload)?))
                    } )*
                    other => Err($crate::error::EventDecodeError::UnknownEventType(other.to_string())),
                }
            }

            fn from_stored_text(
                event_type: &str,
                schema_version: u32,
                payload: &str,
            ) -> Result<Self, $crate::error::EventDecodeError> {
                // The upcaster only rewrites older versions: a current one is read as it is.
                match event_type {
                    $( stringify!($variant) if schema_version == $ver => {
                        return serde_json::from_str(payload)
                            .map($name::$variant)
                            .map_err(|e| $crate::aggregate::malformed(event_type, &e));
                    } )*
                    _ => {}
                }
                let payload = serde_json::from_str(payload)
                    .map_err(|e| $crate::aggregate::malformed(event_type, &e))?;
                Self::from_stored(event_type, schema_version, payload)
            }
        }
    };
}
