//! Generated bad input: random bytes, truncated and mis-shaped JSON, mangled GraphQL
//! documents, and variables of the wrong type. Deterministic (a fixed seed), so a failure
//! can be replayed. Nothing generated here can succeed as a write: mangled documents go
//! without a token, and authenticated inputs are broken before execution can start.

use serde_json::{Value, json};

pub struct Input {
    pub what: String,
    pub body: Vec<u8>,
    pub authenticated: bool,
}

/// xorshift64*: enough randomness for mangling, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const DOCUMENTS: &[&str] = &[
    "{ board(first: 50, filter: { agency: \"DMP\" }) { totalCount edges { node { id title } } } }",
    "query($id: ID!) { assignment(id: $id) { title timeline { eventType } } }",
    "mutation($id: ID!, $p: String!) { reportStatus(id: $id, input: { period: { kind: TERTIAL_1 }, trafficLight: GREEN, progress: $p }) { position } }",
    "mutation { issueAssignment(input: { reference: \"TB2024-99\", ministry: \"HOD\", agency: \"DMP\", year: 2024, title: \"x\", description: \"\", parts: [{ deadline: \"2024-01-01\" }] }) { position } }",
    "{ letters(year: 2024) { id goals { section } } }",
    "{ history(streamType: \"assignment\", streamId: \"x\") { eventType } }",
];

const NOISE: &[u8] = b"{}()[]:$!@\"\\ \n#abc0,.-_\xff\x00";

fn mangle(rng: &mut Rng, doc: &str) -> Vec<u8> {
    let mut bytes = doc.as_bytes().to_vec();
    for _ in 0..1 + rng.below(6) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => {
                bytes.remove(at);
            }
            1 => bytes.insert(at, NOISE[rng.below(NOISE.len())]),
            2 => bytes[at] = NOISE[rng.below(NOISE.len())],
            _ => {
                let end = (at + rng.below(20)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                bytes.splice(at..at, slice);
            }
        }
    }
    bytes
}

/// `n` inputs (at least), spread over the kinds below.
pub fn inputs(n: usize, assignment_ids: &[String]) -> Vec<Input> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let id = assignment_ids.first().cloned().unwrap_or_default();
    let mut out = Vec::with_capacity(n);
    let wrong_variables: Vec<Value> = vec![
        json!({ "id": 5, "p": "x" }),
        json!({ "id": null, "p": "x" }),
        json!({ "id": id, "p": 7 }),
        json!({ "id": id, "p": ["x"] }),
        json!({ "id": id, "p": { "x": 1 } }),
        json!({ "id": id }),
        json!({}),
        json!({ "id": [id], "p": null }),
        json!("not an object"),
        json!([1, 2, 3]),
    ];
    let mut i = 0usize;
    while out.len() < n {
        i += 1;
        let (what, body, authenticated) = match i % 6 {
            // Random bytes.
            0 => {
                let len = rng.below(200);
                let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
                ("random bytes".to_owned(), bytes, false)
            }
            // A valid request cut short: never parses.
            1 => {
                let doc = DOCUMENTS[rng.below(DOCUMENTS.len())];
                let full = serde_json::to_vec(
                    &json!({ "query": doc, "variables": { "id": id, "p": "x" } }),
                )
                .unwrap_or_default();
                let cut = rng.below(full.len().saturating_sub(1)).max(1);
                (format!("truncated at {cut}"), full[..cut].to_vec(), true)
            }
            // JSON of the wrong shape.
            2 => {
                let shapes = [
                    json!([]),
                    json!(123),
                    json!("query"),
                    json!({ "query": 5 }),
                    json!({ "query": null }),
                    json!({ "variables": "x" }),
                    json!({}),
                    json!([{ "query": 1 }, { "nope": true }]),
                    json!({ "query": "{ version }", "variables": [1] }),
                    json!({ "query": "{ version }", "operationName": 42 }),
                ];
                let v = shapes[rng.below(shapes.len())].clone();
                (format!("shape {v}"), v.to_string().into_bytes(), true)
            }
            // Mangled documents, without a token.
            3 | 4 => {
                let doc = DOCUMENTS[rng.below(DOCUMENTS.len())];
                let mangled = String::from_utf8_lossy(&mangle(&mut rng, doc)).into_owned();
                let body = serde_json::to_vec(
                    &json!({ "query": mangled, "variables": { "id": id, "p": "x" } }),
                )
                .unwrap_or_default();
                ("mangled document".to_owned(), body, false)
            }
            // A valid mutation with variables of the wrong type: refused before it runs.
            _ => {
                let v = wrong_variables[rng.below(wrong_variables.len())].clone();
                let body = serde_json::to_vec(&json!({ "query": DOCUMENTS[2], "variables": v }))
                    .unwrap_or_default();
                (format!("variables {v}"), body, true)
            }
        };
        out.push(Input {
            what,
            body,
            authenticated,
        });
    }
    // A few classics.
    for (what, body) in [
        (
            "cyclic fragments",
            json!({ "query": "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }" }),
        ),
        ("unknown field", json!({ "query": "{ nothingHere }" })),
        (
            "huge string",
            json!({ "query": format!("{{ letter(id: \"{}\") {{ id }} }}", "x".repeat(20_000)) }),
        ),
        (
            "unicode",
            json!({ "query": "{ letter(id: \"\u{202e}\u{0000}\u{fffd}😀\") { id } }" }),
        ),
    ] {
        out.push(Input {
            what: what.to_owned(),
            body: body.to_string().into_bytes(),
            authenticated: true,
        });
    }
    out
}
