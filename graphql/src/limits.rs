//! What one GraphQL document may cost: nesting depth, complexity, aliases, and whether the
//! schema may be introspected. Depth and complexity are async-graphql's own checks; aliases
//! and introspection are checked here on the parsed document, before validation, because a
//! document of many aliased cheap fields is otherwise only bounded by its byte size.
//!
//! Every refusal is a GraphQL error with `extensions.code = "LIMIT_EXCEEDED"` and
//! `extensions.limit` naming the limit (`depth`, `complexity`, `aliases`, `introspection`).
//! [`crate::Api`] applies them around execution.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError};

/// The code every limit refusal carries.
pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";

/// Per-document limits. The defaults suit the schema's own queries with room to spare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of selection sets.
    pub max_depth: usize,
    /// Sum of field complexities (1 per field unless a field says otherwise).
    pub max_complexity: usize,
    /// Aliased fields in the whole document, fragments included.
    pub max_aliases: usize,
    /// Whether `__schema` and `__type` are answered (development only).
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_complexity: 2_000,
            max_aliases: 50,
            introspection: false,
        }
    }
}

/// A limit refusal with its stable code.
pub fn limit_error(limit: &str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", LIMIT_EXCEEDED);
    ext.set("limit", limit);
    error.extensions = Some(ext);
    error
}

/// The alias and introspection limits, checked on the parsed document before it is
/// validated or run.
pub(crate) fn check_document(
    document: &ExecutableDocument,
    limits: &Limits,
) -> Result<(), ServerError> {
    let counts = count(document);
    if counts.aliases > limits.max_aliases {
        return Err(limit_error(
            "aliases",
            format!(
                "the query uses {} aliases; at most {} are allowed",
                counts.aliases, limits.max_aliases
            ),
        ));
    }
    if counts.introspection && !limits.introspection {
        return Err(limit_error(
            "introspection",
            "introspection (__schema, __type) is turned off on this server; the schema is \
             published as schema.graphql",
        ));
    }
    Ok(())
}

/// async-graphql's own depth and complexity refusals, as limit errors; any other error as it
/// is.
pub(crate) fn name_the_limit(error: ServerError, limits: &Limits) -> ServerError {
    if !error.path.is_empty() {
        return error;
    }
    match error.message.as_str() {
        "Query is nested too deep." => limit_error(
            "depth",
            format!(
                "the query is nested deeper than {} levels",
                limits.max_depth
            ),
        ),
        "Query is too complex." => limit_error(
            "complexity",
            format!(
                "the query is more complex than the limit of {}",
                limits.max_complexity
            ),
        ),
        _ => error,
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    aliases: usize,
    introspection: bool,
}

/// Counts every aliased field once where it is written (a fragment spread many times counts
/// once; complexity bounds what spreading multiplies).
fn count(document: &ExecutableDocument) -> Counts {
    let mut counts = Counts::default();
    for (_, operation) in document.operations.iter() {
        count_set(&operation.node.selection_set.node, &mut counts);
    }
    for fragment in document.fragments.values() {
        count_set(&fragment.node.selection_set.node, &mut counts);
    }
    counts
}

fn count_set(set: &SelectionSet, counts: &mut Counts) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                if field.alias.is_some() {
                    counts.aliases += 1;
                }
                // Names starting with `__` are reserved, so these can only be the meta fields.
                if matches!(field.name.node.as_str(), "__schema" | "__type") {
                    counts.introspection = true;
                }
                count_set(&field.selection_set.node, counts);
            }
            Selection::InlineFragment(fragment) => {
                count_set(&fragment.node.selection_set.node, counts)
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(query: &str) -> Counts {
        count(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn aliases_are_counted_in_operations_inline_fragments_and_fragments() {
        assert_eq!(counts("{ a: version b: version version }").aliases, 2);
        assert_eq!(
            counts("query { ...F ... on Query { c: version } } fragment F on Query { d: version e: health { s: status } }")
                .aliases,
            4
        );
        assert_eq!(
            counts("query A { a: version } query B { b: version }").aliases,
            2
        );
    }

    #[test]
    fn introspection_is_seen_anywhere_but_typename_is_not_introspection() {
        assert!(counts("{ __schema { queryType { name } } }").introspection);
        assert!(
            counts("query { ...F } fragment F on Query { __type(name: \"Query\") { name } }")
                .introspection
        );
        assert!(!counts("{ __typename version }").introspection);
    }
}
