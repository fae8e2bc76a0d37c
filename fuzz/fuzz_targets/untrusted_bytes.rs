//! Every entry point that takes bytes from a device or a disk: load a
//! document, load incremental changes, decode a change and check it through
//! the gate. None may panic; `cargo fuzz run untrusted_bytes` finds the inputs
//! that would, and `shared/tests/corpus/` keeps them for `cargo test`.
#![no_main]

use std::sync::OnceLock;

use bothy_shared::demo::{self, KAI};
use bothy_shared::docs::{AnyDoc, DocKey};
use bothy_shared::gate::check_changes;
use bothy_shared::ids::DeviceId;
use bothy_shared::policy::{ChildTeam, Principal};
use bothy_shared::robust;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    plan: automerge::Automerge,
    team: ChildTeam,
    who: Principal,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let demo = demo::partnership();
        let kai = demo.child("Kai").expect("demo has Kai").clone();
        let plan = kai.documents(&demo::server_actor()).expect("demo documents are valid").remove(0).1;
        let who = demo.person("Morag").expect("demo has Morag").principal(DeviceId::random());
        Fixture { plan, team: kai.team, who }
    })
}

fuzz_target!(|bytes: &[u8]| {
    let f = fixture();
    let key = DocKey::Plan(KAI);
    if let Ok(doc) = robust::load_document(bytes) {
        let _ = AnyDoc::read(&doc, &key);
    }
    let _ = robust::load_incremental(&f.plan, bytes);
    if let Ok(change) = robust::decode_change(bytes) {
        let _ = check_changes(&key, &f.plan, &[change], &f.who, &f.team);
    }
});
