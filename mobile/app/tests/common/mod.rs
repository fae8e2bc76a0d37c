//! Test support: a real client core in a temporary encrypted store, and a
//! `Screen` that renders the app in a `VirtualDom` and sends it the events a
//! renderer would (typing, clicks, changes, form submits).
//!
//! Events need the `ElementId` of their target. The dom only reports ids
//! through mutations, so `Screen` keeps a `WriteMutations` recorder: it follows
//! the renderer's node stack to learn, for every element that has an id, its
//! tag, its attributes (static from the template, dynamic as set) and its
//! static text, and finds targets by those (`id="visit-place"`, a button's words).

#![allow(dead_code)]

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use bothy_app::{AppAt, AppAtProps, Device};
use bothy_client::Client;
use bothy_client::store::{KdfParams, Passcode, Store};
use dioxus::dioxus_core::{
    AttributeValue, ElementId, Event, Template, TemplateAttribute, TemplateNode, WriteMutations,
};
use dioxus::prelude::*;
use dioxus_html::{PlatformEventData, SerializedFormData, SerializedMouseData};

pub const PASSCODE: &str = "correct horse battery";

/// A new encrypted store in `dir`, seeded with the demo partnership as seen
/// by the person whose name starts with `name`.
pub fn seeded_client(dir: &Path, name: &str) -> Client {
    let store = Store::create(
        dir,
        &Passcode::new(PASSCODE.to_owned()),
        KdfParams::insecure_fast_for_tests(),
    )
    .expect("create store");
    Client::seed_demo(store, name).expect("seed demo")
}

/// What the recorder knows about one element.
#[derive(Debug, Default, Clone)]
struct Element {
    tag: String,
    attrs: HashMap<String, String>,
    text: String,
    listeners: Vec<String>,
}

/// Follows the mutations to know what each `ElementId` is.
#[derive(Default)]
struct Recorder {
    elements: HashMap<ElementId, Element>,
    /// The renderer's stack: template nodes where known.
    stack: Vec<Option<&'static TemplateNode>>,
}

fn describe(node: &'static TemplateNode) -> Option<Element> {
    match node {
        TemplateNode::Element {
            tag,
            attrs,
            children,
            ..
        } => {
            let mut e = Element {
                tag: tag.to_string(),
                ..Element::default()
            };
            for a in attrs.iter() {
                if let TemplateAttribute::Static { name, value, .. } = a {
                    e.attrs.insert(name.to_string(), value.to_string());
                }
            }
            for c in children.iter() {
                if let TemplateNode::Text { text } = c {
                    e.text.push_str(text);
                }
            }
            Some(e)
        }
        _ => None,
    }
}

impl Recorder {
    fn register(&mut self, node: Option<&'static TemplateNode>, id: ElementId) {
        match node.and_then(describe) {
            Some(e) => {
                self.elements.insert(id, e);
            }
            None => {
                self.elements.remove(&id);
            }
        }
    }

    fn pop(&mut self, m: usize) {
        let keep = self.stack.len().saturating_sub(m);
        self.stack.truncate(keep);
    }

    fn find(&self, what: &str, pred: impl Fn(&Element) -> bool) -> ElementId {
        let mut found: Vec<ElementId> = self
            .elements
            .iter()
            .filter(|(_, e)| pred(e))
            .map(|(id, _)| *id)
            .collect();
        found.sort_by_key(|id| id.0);
        match found.as_slice() {
            [one] => *one,
            [] => panic!("no element {what} on screen"),
            many => panic!("{} elements {what} on screen", many.len()),
        }
    }
}

impl WriteMutations for Recorder {
    fn append_children(&mut self, _id: ElementId, m: usize) {
        self.pop(m);
    }
    fn assign_node_id(&mut self, path: &'static [u8], id: ElementId) {
        let mut node = self.stack.last().copied().flatten();
        for i in path {
            node = match node {
                Some(TemplateNode::Element { children, .. }) => children.get(usize::from(*i)),
                _ => None,
            };
        }
        self.register(node, id);
    }
    fn create_placeholder(&mut self, id: ElementId) {
        self.elements.remove(&id);
        self.stack.push(None);
    }
    fn create_text_node(&mut self, _value: &str, id: ElementId) {
        self.elements.remove(&id);
        self.stack.push(None);
    }
    fn load_template(&mut self, template: Template, index: usize, id: ElementId) {
        let node = template.roots.get(index);
        self.register(node, id);
        self.stack.push(node);
    }
    fn replace_node_with(&mut self, _id: ElementId, m: usize) {
        self.pop(m);
    }
    fn replace_placeholder_with_nodes(&mut self, _path: &'static [u8], m: usize) {
        self.pop(m);
    }
    fn insert_nodes_after(&mut self, _id: ElementId, m: usize) {
        self.pop(m);
    }
    fn insert_nodes_before(&mut self, _id: ElementId, m: usize) {
        self.pop(m);
    }
    fn set_attribute(
        &mut self,
        name: &'static str,
        _ns: Option<&'static str>,
        value: &AttributeValue,
        id: ElementId,
    ) {
        if let Some(e) = self.elements.get_mut(&id) {
            match value {
                AttributeValue::Text(t) => {
                    e.attrs.insert(name.to_owned(), t.clone());
                }
                AttributeValue::Bool(b) => {
                    e.attrs.insert(name.to_owned(), b.to_string());
                }
                AttributeValue::None => {
                    e.attrs.remove(name);
                }
                other => {
                    e.attrs.insert(name.to_owned(), format!("{other:?}"));
                }
            }
        }
    }
    fn set_node_text(&mut self, _value: &str, _id: ElementId) {}
    fn create_event_listener(&mut self, name: &'static str, id: ElementId) {
        if let Some(e) = self.elements.get_mut(&id) {
            e.listeners.push(name.to_owned());
        }
    }
    fn remove_event_listener(&mut self, name: &'static str, id: ElementId) {
        if let Some(e) = self.elements.get_mut(&id) {
            e.listeners.retain(|l| l != name);
        }
    }
    fn remove_node(&mut self, id: ElementId) {
        self.elements.remove(&id);
    }
    fn push_root(&mut self, _id: ElementId) {
        self.stack.push(None);
    }
}

/// The app rendered at a path, over a real client core.
pub struct Screen {
    pub dom: VirtualDom,
    recorder: Recorder,
    /// Drives the app's tasks (unlocking on its thread, sync runs), as a
    /// renderer's event loop would.
    rt: tokio::runtime::Runtime,
}

impl Screen {
    /// Render the app at `path` with `core` as its root context.
    pub fn open(core: Device, path: &str) -> Screen {
        dioxus_html::set_event_converter(Box::new(dioxus_html::SerializedHtmlEventConverter));
        let mut dom = VirtualDom::new_with_props(
            AppAt,
            AppAtProps {
                path: path.to_owned(),
            },
        )
        .with_root_context(core);
        let mut recorder = Recorder::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async { dom.rebuild(&mut recorder) });
        let mut screen = Screen { dom, recorder, rt };
        screen.settle();
        screen
    }

    /// Apply everything pending (ready tasks, signal writes, navigation) to
    /// the screen, without waiting for anything still in flight.
    pub fn settle(&mut self) {
        let Screen { dom, recorder, rt } = self;
        rt.block_on(async {
            for _ in 0..5 {
                // Poll the ready tasks once; go on if none is ready.
                tokio::select! {
                    biased;
                    _ = dom.wait_for_work() => {}
                    _ = std::future::ready(()) => {}
                }
                dom.render_immediate(recorder);
            }
        });
    }

    /// Let the app's tasks run until the screen shows `what` (the page's
    /// HTML contains it), for at most 30 seconds.
    pub fn settle_until(&mut self, what: &str) {
        self.settle_until_shows(what, true);
    }

    /// Let the app's tasks run until the screen no longer shows `what`.
    pub fn settle_until_gone(&mut self, what: &str) {
        self.settle_until_shows(what, false);
    }

    fn settle_until_shows(&mut self, what: &str, shown: bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            self.settle();
            if self.html().contains(what) == shown {
                return;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "the screen kept {} {what:?}:\n{}",
                if shown { "lacking" } else { "showing" },
                self.html()
            );
            let Screen { dom, recorder, rt } = self;
            rt.block_on(async {
                let _ = tokio::time::timeout(left, dom.wait_for_work()).await;
                dom.render_immediate(recorder);
            });
        }
    }

    /// The screen as HTML.
    pub fn html(&self) -> String {
        dioxus_ssr::render(&self.dom)
    }

    fn send(&mut self, name: &str, data: PlatformEventData, target: ElementId) {
        let event = Event::new(Rc::new(data) as Rc<dyn Any>, true);
        let _guard = self.rt.enter();
        self.dom.runtime().handle_event(name, event, target);
        drop(_guard);
        self.settle();
    }

    fn by_id(&self, id: &str) -> ElementId {
        self.recorder.find(&format!("with id {id:?}"), |e| {
            e.attrs.get("id").map(String::as_str) == Some(id)
        })
    }

    /// Type `text` into the field with this id (one input event with the
    /// whole value, as a browser sends after each keystroke).
    pub fn type_into(&mut self, id: &str, text: &str) {
        let target = self.by_id(id);
        let data = SerializedFormData::new(text.to_owned(), vec![]);
        self.send("input", PlatformEventData::new(Box::new(data)), target);
    }

    /// Choose `value` in a select, or tick (`"true"`) a checkbox.
    pub fn change(&mut self, id: &str, value: &str) {
        let target = self.by_id(id);
        let data = SerializedFormData::new(value.to_owned(), vec![]);
        self.send("change", PlatformEventData::new(Box::new(data)), target);
    }

    /// Click the button whose words are `label`.
    pub fn click(&mut self, label: &str) {
        let target = self.recorder.find(&format!("button {label:?}"), |e| {
            e.tag == "button" && e.text.trim() == label
        });
        let data = SerializedMouseData::default();
        self.send("click", PlatformEventData::new(Box::new(data)), target);
    }

    /// Click the button whose accessible name (`aria-label`) is `label`.
    pub fn click_labelled(&mut self, label: &str) {
        let target = self
            .recorder
            .find(&format!("button labelled {label:?}"), |e| {
                e.tag == "button" && e.attrs.get("aria-label").map(String::as_str) == Some(label)
            });
        let data = SerializedMouseData::default();
        self.send("click", PlatformEventData::new(Box::new(data)), target);
    }

    /// Submit the form labelled `label` (what Enter or its submit button does).
    pub fn submit(&mut self, label: &str) {
        let target = self.recorder.find(&format!("form {label:?}"), |e| {
            e.tag == "form" && e.attrs.get("aria-label").map(String::as_str) == Some(label)
        });
        let data = SerializedFormData::new(String::new(), vec![]);
        self.send("submit", PlatformEventData::new(Box::new(data)), target);
    }
}
