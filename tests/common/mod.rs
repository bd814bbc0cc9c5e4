//! `SiteTest`: a fixture repository in a temporary folder, committed with a fixed
//! author and clock, and the real `procsite` binary run against it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BOOK: &str = r#"[book]
title = "Test QMS"
organization = "Test Devices"

[site.boston]
name = "Boston"
markets = ["FDA"]

[site.cork]
name = "Cork"
markets = ["EU", "FDA"]
exclude = { SOP-0090 = "No sterilization at Cork" }

[site.freiburg]
name = "Freiburg"
markets = ["EU"]
"#;

/// A global CAPA procedure with explicit anchors and nested sections.
pub const CAPA: &str = r#"---
id: SOP-0020
title: Corrective and Preventive Action
type: SOP
owner: Global Quality
status: approved
effective: 2026-03-01
approvals:
  - { name: Jane Roe, role: VP Quality, date: 2026-02-20 }
---
## Purpose {#purpose}
Global purpose text.

## Scope {#scope}
Global scope text.

## Responsibilities {#responsibilities}
- The CAPA owner leads the investigation.

### Board {#board}
The CAPA board approves plans.

## Records {#records}
Records are kept for 10 years.
"#;

/// A global sterilization procedure, which cork excludes.
pub const STERILE: &str = "---\nid: SOP-0090\ntitle: Sterilization\ntype: SOP\nstatus: draft\n---\n## Scope {#scope}\nSterile devices.\n";

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub struct SiteTest {
    dir: tempfile::TempDir,
    commits: i64,
}

impl SiteTest {
    /// A repository with the three-site book.toml and the CAPA procedure.
    pub fn new() -> SiteTest {
        let t = SiteTest::empty();
        t.write("book.toml", BOOK);
        t.write("procedures/global/SOP-0020.md", CAPA);
        t.write("procedures/global/SOP-0090.md", STERILE);
        t
    }

    pub fn empty() -> SiteTest {
        let t = SiteTest::no_git();
        git2::Repository::init(t.root()).expect("git init");
        t
    }

    /// A folder that is not a git repository.
    pub fn no_git() -> SiteTest {
        let dir = tempfile::tempdir().expect("temp dir");
        SiteTest { dir, commits: 0 }
    }

    /// Tags HEAD (a lightweight tag).
    pub fn tag(&self, name: &str) {
        let repo = git2::Repository::open(self.root()).unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        repo.tag_lightweight(name, head.as_object(), false).unwrap();
    }

    /// Tags HEAD with an annotated tag, dated by the fixture clock (a day after the
    /// last commit), as a release manager tagging later would.
    pub fn tag_annotated(&mut self, name: &str) {
        let repo = git2::Repository::open(self.root()).unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        let sig = self.next_signature();
        repo.tag(name, head.as_object(), &sig, "Release", false)
            .unwrap();
    }

    /// Runs procsite with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_procsite"));
        cmd.args(args)
            .current_dir(self.root())
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run procsite");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Marks the repository shallow at `oid`, as `git clone --depth` leaves it.
    pub fn make_shallow(&self, oid: git2::Oid) {
        std::fs::write(self.path(".git/shallow"), format!("{oid}\n")).unwrap();
    }

    /// The date of the next commit, YYYY-MM-DD.
    pub fn next_commit_date(&self) -> String {
        let day = 1 + self.commits;
        format!("2026-06-{day:02}")
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.path(rel)).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Stages every file (added, changed, deleted) and returns the index's tree.
    pub fn stage_all(&self, repo: &git2::Repository) -> git2::Oid {
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"].iter(), None).unwrap();
        index.write().unwrap();
        index.write_tree().unwrap()
    }

    /// The fixed author of the next commit; the clock starts on 2026-06-01 and
    /// advances one day per commit.
    pub fn next_signature(&mut self) -> git2::Signature<'static> {
        let time = git2::Time::new(1_780_272_000 + self.commits * 86_400, 0);
        self.commits += 1;
        git2::Signature::new("Dana Controller", "dana@example.com", &time).unwrap()
    }

    /// Commits every file with a fixed author and clock.
    pub fn commit(&mut self, message: &str) -> git2::Oid {
        let root = self.root().to_path_buf();
        self.commit_in(&root, message)
    }

    /// [`SiteTest::commit`] in the work tree at `dir` (a linked work tree of the
    /// fixture's repository), on the fixture's clock.
    pub fn commit_in(&mut self, dir: &Path, message: &str) -> git2::Oid {
        let repo = git2::Repository::open(dir).unwrap();
        let tree = repo.find_tree(self.stage_all(&repo)).unwrap();
        let sig = self.next_signature();
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs)
            .unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Builds and asserts success.
    pub fn build(&self) -> Output {
        let out = self.run(&["build"]);
        assert_eq!(out.code, 0, "build failed:\n{}{}", out.stdout, out.stderr);
        out
    }

    /// Runs and asserts exit code 1; returns stderr.
    pub fn expect_failure(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.code, 1,
            "expected failure, got {}:\n{}{}",
            out.code, out.stdout, out.stderr
        );
        out.stderr
    }

    /// The page of a document at a site (preview version).
    pub fn page(&self, site: &str, id: &str) -> String {
        self.read(&format!("public/{site}/preview/{id}.html"))
    }

    /// The versions a site's `versions.json` lists, newest first.
    pub fn version_names(&self, site: &str) -> Vec<String> {
        let versions: serde_json::Value =
            serde_json::from_str(&self.read(&format!("public/{site}/versions.json"))).unwrap();
        versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap().to_string())
            .collect()
    }

    /// Every file under `rel` with its bytes, by relative path.
    pub fn tree(&self, rel: &str) -> BTreeMap<String, Vec<u8>> {
        tree_of(&self.path(rel))
    }
}

pub fn tree_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// The composed body of a page: the `doc-body` region, whitespace-normalised.
pub fn body(html: &str) -> String {
    let start = html.find("<div class=\"doc-body\">").expect("doc-body");
    let end = html[start..]
        .find("</article>")
        .map_or(html.len(), |e| start + e);
    html[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Position of `needle` in `hay`, panicking with context when absent.
pub fn pos(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("'{needle}' not found in:\n{hay}"))
}

/// The text of a page's `<dd>` for the `<dt>` `term`, its white space collapsed.
pub fn dd(page: &str, term: &str) -> String {
    let start = pos(page, &format!("<dt>{term}</dt><dd>")) + term.len() + 13;
    let end = start + page[start..].find("</dd>").unwrap();
    page[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decodes the few entities Tera's escaping produces in attributes.
pub fn unescape(s: &str) -> String {
    s.replace("&#x2F;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// A global document with the given front-matter extras and body.
pub fn doc(id: &str, title: &str, extra: &str, body: &str) -> String {
    format!("---\nid: {id}\ntitle: {title}\ntype: SOP\nstatus: draft\n{extra}---\n{body}")
}

/// An approved document by Jane Roe (VP Quality), effective 2026-05-15 or, when it
/// is approved later, on its approval date (a revision never takes effect before).
pub fn approved(id: &str, body: &str, approval_date: &str) -> String {
    let effective = approval_date
        .get(..10)
        .unwrap_or(approval_date)
        .max("2026-05-15");
    format!(
        "---\nid: {id}\ntitle: T {id}\ntype: SOP\nstatus: approved\neffective: {effective}\napprovals:\n  - {{ name: Jane Roe, role: VP Quality, date: {approval_date} }}\n---\n{body}"
    )
}

/// An `[approvers]` entry for Jane Roe, to append to a book.toml.
pub const APPROVERS: &str =
    "\n[approvers.jroe]\nname = \"Jane Roe\"\nemails = [\"jane.roe@acme.example\"]\n";

/// An addendum to `target` with the given body.
pub fn addendum(target: &str, rationale: &str, body: &str) -> String {
    format!("---\naddendum-to: {target}\nrationale: {rationale}\nstatus: draft\n---\n{body}")
}

impl SiteTest {
    /// Makes a branch at HEAD, runs `f` on it (commits go to the branch), then merges
    /// it back with a merge commit, as a pull request would.
    pub fn on_branch_then_merge(
        &mut self,
        name: &str,
        message: &str,
        f: impl FnOnce(&mut SiteTest),
    ) -> git2::Oid {
        let repo = git2::Repository::open(self.root()).unwrap();
        let main_ref = repo.head().unwrap().name().unwrap().to_string();
        let base = repo.head().unwrap().peel_to_commit().unwrap();
        repo.branch(name, &base, false).unwrap();
        repo.set_head(&format!("refs/heads/{name}")).unwrap();
        f(self);
        let branch_tip = repo.head().unwrap().peel_to_commit().unwrap();
        let tree = branch_tip.tree().unwrap();
        let sig = self.next_signature();
        let main_tip = repo
            .find_reference(&main_ref)
            .unwrap()
            .peel_to_commit()
            .unwrap();
        let oid = repo
            .commit(None, &sig, &sig, message, &tree, &[&main_tip, &branch_tip])
            .unwrap();
        repo.reference(&main_ref, oid, true, "merge").unwrap();
        repo.set_head(&main_ref).unwrap();
        oid
    }

    /// Commits every file with the signature `sign` makes of the commit's bytes, as
    /// `git commit -S` would (the signature goes into the `gpgsig` header).
    pub fn commit_signed_with(
        &mut self,
        message: &str,
        sign: impl FnOnce(&str) -> String,
    ) -> git2::Oid {
        let repo = git2::Repository::open(self.root()).unwrap();
        let tree = repo.find_tree(self.stage_all(&repo)).unwrap();
        let sig = self.next_signature();
        let parent = repo.head().unwrap().peel_to_commit().unwrap();
        let buf = repo
            .commit_create_buffer(&sig, &sig, message, &tree, &[&parent])
            .unwrap();
        let content = buf.as_str().unwrap();
        let signature = sign(content);
        let oid = repo.commit_signed(content, &signature, None).unwrap();
        let head = repo.head().unwrap().name().unwrap().to_string();
        repo.reference(&head, oid, true, "signed commit").unwrap();
        oid
    }

    /// Tags HEAD with an annotated tag signed by `sign` (given the tag object's bytes
    /// before the signature), as `git tag -s` would: the signature follows the message.
    pub fn tag_signed_with(&mut self, name: &str, sign: impl FnOnce(&str) -> String) -> git2::Oid {
        let repo = git2::Repository::open(self.root()).unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        let sig = self.next_signature();
        let content = format!(
            "object {}\ntype commit\ntag {name}\ntagger {} <{}> {} +0000\n\nRelease\n",
            head.id(),
            sig.name().unwrap(),
            sig.email().unwrap(),
            sig.when().seconds()
        );
        let signature = sign(&content);
        let oid = repo
            .odb()
            .unwrap()
            .write(
                git2::ObjectType::Tag,
                format!("{content}{signature}").as_bytes(),
            )
            .unwrap();
        repo.reference(&format!("refs/tags/{name}"), oid, false, "signed tag")
            .unwrap();
        oid
    }
}

/// The `<main>` region of a page, with trailing blanks removed, for snapshots.
pub fn main_region(html: &str) -> String {
    let start = html.find("<main").expect("a <main> element");
    let end = html[start..]
        .find("</main>")
        .map_or(html.len(), |e| start + e + "</main>".len());
    let mut out: String = html[start..end]
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

/// Compares `actual` with `tests/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` rewrites it.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!("snapshot {name} differs (UPDATE_SNAPSHOTS=1 accepts the change):\n{diff}");
    }
}

/// Checks `value` against the parts of JSON Schema that the published schemas
/// (docs/*.schema.json) use: type, const, enum, required, properties, additionalProperties, items,
/// oneOf, local $ref, and additionalProperties as a schema. Returns the first mismatch, by JSON path.
pub fn validate_schema(
    schema: &serde_json::Value,
    root: &serde_json::Value,
    value: &serde_json::Value,
    path: &str,
) -> Result<(), String> {
    use serde_json::Value;
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local ref");
        return validate_schema(&root["$defs"][name], root, value, path);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let ok = options
            .iter()
            .filter(|o| validate_schema(o, root, value, path).is_ok())
            .count();
        return if ok == 1 {
            Ok(())
        } else {
            Err(format!("{path}: matches {ok} of oneOf"))
        };
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            return Err(format!("{path}: {value} is not {c}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(value) {
            return Err(format!("{path}: {value} not in enum"));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |t: &str| match t {
            "null" => value.is_null(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        };
        if !types.iter().any(|t| is(t)) {
            return Err(format!("{path}: {value} is not {types:?}"));
        }
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                return Err(format!("{path}: missing {r}"));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate_schema(s, root, v, &format!("{path}.{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{path}: {k} is not in the schema"))
                    }
                    Some(s @ Value::Object(_)) => {
                        validate_schema(s, root, v, &format!("{path}.{k}"))?
                    }
                    _ => {}
                },
            }
        }
    }
    if let Some(a) = value.as_array() {
        let count = |k: &str| schema.get(k).and_then(Value::as_u64).map(|n| n as usize);
        if count("minItems").is_some_and(|n| a.len() < n)
            || count("maxItems").is_some_and(|n| a.len() > n)
        {
            return Err(format!("{path}: {} items", a.len()));
        }
        // As JSON Schema 2020-12: `prefixItems` by place, `items` the rest.
        let prefix = schema.get("prefixItems").and_then(Value::as_array);
        let prefix = prefix.map(Vec::as_slice).unwrap_or_default();
        for (i, v) in a.iter().enumerate() {
            match (prefix.get(i), schema.get("items")) {
                (Some(s), _) | (None, Some(s @ Value::Object(_))) => {
                    validate_schema(s, root, v, &format!("{path}[{i}]"))?
                }
                (None, Some(Value::Bool(false))) => {
                    return Err(format!("{path}[{i}]: no item is allowed here"))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// A published JSON schema of `docs/`, e.g. "history.schema.json".
pub fn published_schema(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The commit at `place` in a `history.json`, as an object of its `commit_fields`
/// (what a row leaves out, or holds as null, is absent), the way a reader zips them.
pub fn history_commit(json: &serde_json::Value, place: usize) -> serde_json::Value {
    let fields = json["commit_fields"].as_array().unwrap();
    let row = json["commits"][place].as_array().unwrap();
    fields
        .iter()
        .zip(row)
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The places of a document's commits in a `history.json`, newest first, under the
/// file each changed: `[(place, "global")]`, a commit that changed two files twice.
pub fn history_places(doc: &serde_json::Value) -> Vec<(usize, String)> {
    let mut places: Vec<(usize, String)> = doc["history"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(file, list)| {
            list.as_array()
                .unwrap()
                .iter()
                .map(move |p| (p.as_u64().unwrap() as usize, file.clone()))
        })
        .collect();
    places.sort();
    places
}

/// Asserts that a `history.json` follows docs/history.schema.json.
pub fn assert_history_schema(json: &serde_json::Value) {
    let schema = published_schema("history.schema.json");
    validate_schema(&schema, &schema, json, "$").unwrap_or_else(|e| panic!("history.json: {e}"));
}

/// Whether the binary under test has its test hooks (`PROCSITE_TEST_*`): they exist
/// in debug builds only, as `cargo test` makes them. Under `cargo test --release` a
/// test that needs them says it was skipped.
pub fn test_hooks(test: &str) -> bool {
    if !cfg!(debug_assertions) {
        eprintln!("{test}: skipped: the test hooks exist in debug builds only");
    }
    cfg!(debug_assertions)
}
