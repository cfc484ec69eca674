//! The committed `graphql/schema.graphql` is what clients and reviewers read: it must match
//! the code. Run with `UPDATE_SCHEMA=1` to rewrite it after a deliberate change.

#[test]
fn committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let current = styr_graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &current).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "graphql/schema.graphql is out of date; run `UPDATE_SCHEMA=1 cargo test -p styr-graphql --test schema` and commit it"
    );
}
