//! `:::` blocks: conditions (`only`, `except`) in any document, and the operations
//! of site addenda (`append #anchor`, ...). Fences inside code blocks are text.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};

/// One line of Markdown with its 1-based line number in the source file.
#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub struct SrcLine {
    pub no: usize,
    /// Shared: every site's composition of the line holds the same text.
    pub text: Arc<str>,
}

#[derive(serde::Serialize, Debug, Clone)]
pub enum Node {
    Line(SrcLine),
    Block(Block),
}

#[derive(serde::Serialize, Debug, Clone)]
pub struct Block {
    pub directive: Directive,
    /// Line of the opening fence.
    pub line: usize,
    pub children: Vec<Node>,
}

#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    Only(Vec<Condition>),
    Except(Vec<Condition>),
    Op(OpKind, String),
}

#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub key: CondKey,
    pub values: Vec<String>,
}

#[derive(serde::Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondKey {
    Market,
    Site,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    Append,
    Prepend,
    Replace,
    InsertBefore,
    InsertAfter,
    Remove,
}

impl OpKind {
    pub const ALL: [(&'static str, OpKind); 6] = [
        ("append", OpKind::Append),
        ("prepend", OpKind::Prepend),
        ("replace", OpKind::Replace),
        ("insert-before", OpKind::InsertBefore),
        ("insert-after", OpKind::InsertAfter),
        ("remove", OpKind::Remove),
    ];

    pub fn as_str(self) -> &'static str {
        OpKind::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(n, _)| n)
    }
}

const CONDITIONS: [&str; 2] = ["only", "except"];

/// The site a document is being composed for.
#[derive(serde::Serialize, Debug, Clone)]
pub struct SiteCtx<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub markets: &'a [String],
}

fn fence_len(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let colons = rest.len() - rest.trim_start_matches(':').len();
    (colons >= 3).then(|| (colons, rest[colons..].trim()))
}

/// Tracks fenced code blocks (``` and ~~~) line by line.
#[derive(Default)]
struct CodeFence {
    open: Option<(char, usize)>,
}

impl CodeFence {
    /// Returns true when the line belongs to a code block (fences included).
    fn step(&mut self, line: &str) -> bool {
        let t = line.trim_start_matches(' ');
        let indent = line.len() - t.len();
        let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| t.len() - t.trim_start_matches(m).len());
        match self.open {
            Some((m, n)) => {
                if indent <= 3 && marker == Some(m) && run >= n && t[run..].trim().is_empty() {
                    self.open = None;
                }
                true
            }
            None if indent <= 3 && run >= 3 => {
                let m = marker.unwrap_or('`');
                // An info string of a backtick fence may not hold backticks.
                if m == '`' && t[run..].contains('`') {
                    return false;
                }
                self.open = Some((m, run));
                true
            }
            None => false,
        }
    }
}

/// What each line of a body is to the `:::` structure, as `parse_body` reads it: a
/// fence's colon count and what follows them (empty for a closing fence), or `None`
/// for a line of text (a line inside a code block is text).
pub fn fence_lines(body: &str) -> Vec<Option<(usize, String)>> {
    let mut code = CodeFence::default();
    body.lines()
        .map(|l| fence_at(&mut code, l).map(|(n, rest)| (n, rest.to_string())))
        .collect()
}

fn fence_at<'l>(code: &mut CodeFence, line: &'l str) -> Option<(usize, &'l str)> {
    if code.step(line) {
        None
    } else {
        fence_len(line)
    }
}

/// The deepest nesting of `:::` blocks a body may have. Real procedures nest two or
/// three deep; the limit keeps every later stage's recursion bounded.
pub const MAX_BLOCK_DEPTH: usize = 64;

/// The deepest nesting of Markdown containers (block quotes, lists) a line may open,
/// counted by its leading `>` markers and list markers; deeper input makes the
/// Markdown renderer's cost grow with the square of the depth.
pub const MAX_CONTAINER_DEPTH: usize = 256;

/// How many containers a line's prefix opens: each `>` and each list marker, and each
/// two columns of indentation (a nested list item's least indent).
fn container_depth(line: &str) -> usize {
    let mut depth = 0;
    let mut indent = 0;
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        indent += rest.len() - trimmed.len();
        let marker = trimmed
            .strip_prefix('>')
            .or_else(|| {
                ["- ", "* ", "+ "]
                    .iter()
                    .find_map(|m| trimmed.strip_prefix(m))
            })
            .or_else(|| {
                let digits = trimmed.len()
                    - trimmed
                        .trim_start_matches(|c: char| c.is_ascii_digit())
                        .len();
                (digits > 0)
                    .then(|| &trimmed[digits..])
                    .and_then(|r| r.strip_prefix(". ").or_else(|| r.strip_prefix(") ")))
            });
        match marker {
            Some(r) => {
                depth += 1;
                rest = r;
            }
            None => return depth + indent / 2,
        }
    }
}

/// Parses a body into lines and blocks, validating every directive.
pub fn parse_body(
    path: &Path,
    body: &str,
    first_line: usize,
    is_addendum: bool,
    config: &Config,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    struct Open {
        block: Block,
        fence: usize,
    }
    let mut root: Vec<Node> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut code = CodeFence::default();
    // Only the first line too deep is reported: the next ones are the same problem.
    let mut too_deep = false;
    for (i, text) in body.lines().enumerate() {
        let no = first_line + i;
        let push = |stack: &mut Vec<Open>, root: &mut Vec<Node>, node: Node| match stack.last_mut()
        {
            Some(open) => open.block.children.push(node),
            None => root.push(node),
        };
        let fence = fence_at(&mut code, text);
        let Some((len, rest)) = fence else {
            if container_depth(text) > MAX_CONTAINER_DEPTH {
                if too_deep {
                    continue;
                }
                too_deep = true;
                diags.push(
                    Diagnostic::error(Code::BlockSyntax,
                        path,
                        no,
                        format!(
                            "this line nests block quotes or lists deeper than {MAX_CONTAINER_DEPTH} levels"
                        ),
                    )
                    .help("flatten the quote or list; a procedure needs a few levels at most"),
                );
                continue;
            }
            push(
                &mut stack,
                &mut root,
                Node::Line(SrcLine {
                    no,
                    text: Arc::from(text),
                }),
            );
            continue;
        };
        if rest.is_empty() {
            match stack.pop() {
                Some(open) if open.fence == len => {
                    push(&mut stack, &mut root, Node::Block(open.block));
                }
                Some(open) => {
                    diags.push(
                        Diagnostic::error(
                            Code::BlockSyntax,
                            path,
                            no,
                            format!(
                            "closing fence has {len} colons but the block opened at line {} has {}",
                            open.block.line, open.fence
                        ),
                        )
                        .help("close a block with the same number of colons that opened it"),
                    );
                    push(&mut stack, &mut root, Node::Block(open.block));
                }
                None => diags.push(
                    Diagnostic::error(
                        Code::BlockSyntax,
                        path,
                        no,
                        "closing `:::` fence without an open block",
                    )
                    .help("remove it, or open a block such as `::: only market=EU` above"),
                ),
            }
            continue;
        }
        if stack.len() == MAX_BLOCK_DEPTH {
            diags.push(
                Diagnostic::error(Code::BlockSyntax,
                    path,
                    no,
                    format!("`:::` blocks nest deeper than {MAX_BLOCK_DEPTH} levels here"),
                )
                .help("close the blocks above before opening another; a procedure needs two or three levels at most"),
            );
            // The rest of the body is not parsed: every later fence would only add
            // follow-on errors about this one.
            stack.truncate(1);
            let open = stack.pop().expect("one open block");
            root.push(Node::Block(open.block));
            return root;
        }
        let directive = parse_directive(path, no, rest, is_addendum, config, diags);
        stack.push(Open {
            block: Block {
                directive: directive.unwrap_or(Directive::Only(Vec::new())),
                line: no,
                children: Vec::new(),
            },
            fence: len,
        });
    }
    while let Some(open) = stack.pop() {
        diags.push(
            Diagnostic::error(
                Code::BlockSyntax,
                path,
                open.block.line,
                "this `:::` block is never closed",
            )
            .help(format!(
                "add a line `{}` where the block ends",
                ":".repeat(open.fence)
            )),
        );
        match stack.last_mut() {
            Some(parent) => parent.block.children.push(Node::Block(open.block)),
            None => root.push(Node::Block(open.block)),
        }
    }
    root
}

fn parse_directive(
    path: &Path,
    no: usize,
    rest: &str,
    is_addendum: bool,
    config: &Config,
    diags: &mut Diagnostics,
) -> Option<Directive> {
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let args = args.trim();
    if let Some((_, op)) = OpKind::ALL.iter().find(|(n, _)| *n == name) {
        if !is_addendum {
            diags.push(
                Diagnostic::error(
                    Code::BlockSyntax,
                    path,
                    no,
                    format!("`{name}` blocks belong in site addenda"),
                )
                .help("documents may only use `::: only ...` and `::: except ...` blocks"),
            );
            return None;
        }
        let anchor = args.strip_prefix('#').unwrap_or("");
        if anchor.is_empty() || anchor.contains(char::is_whitespace) {
            diags.push(
                Diagnostic::error(
                    Code::BlockSyntax,
                    path,
                    no,
                    format!("`{name}` needs the anchor of a section"),
                )
                .help(format!("write `::: {name} #section-anchor`")),
            );
            return None;
        }
        return Some(Directive::Op(*op, anchor.to_string()));
    }
    if !CONDITIONS.contains(&name) {
        let mut known: Vec<&str> = CONDITIONS.to_vec();
        if is_addendum {
            known.extend(OpKind::ALL.iter().map(|(n, _)| *n));
        }
        diags.push(
            Diagnostic::error(
                Code::BlockSyntax,
                path,
                no,
                format!(
                    "unknown block `{name}`{}",
                    did_you_mean(name, known.iter().copied())
                ),
            )
            .help(format!("blocks here are: {}", known.join(", "))),
        );
        return None;
    }
    let mut conds = Vec::new();
    if args.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::BlockSyntax,
                path,
                no,
                format!("`{name}` needs a condition"),
            )
            .help(format!(
                "write e.g. `::: {name} market=EU` or `::: {name} site=cork`"
            )),
        );
        return None;
    }
    for arg in args.split_whitespace() {
        let Some((key, values)) = arg.split_once('=') else {
            diags.push(
                Diagnostic::error(
                    Code::BlockSyntax,
                    path,
                    no,
                    format!("condition '{arg}' is not key=value"),
                )
                .help("write market=EU,FDA or site=cork"),
            );
            return None;
        };
        let key = match key {
            "market" | "markets" => CondKey::Market,
            "site" | "sites" => CondKey::Site,
            other => {
                diags.push(
                    Diagnostic::error(
                        Code::UnknownCondition,
                        path,
                        no,
                        format!(
                            "unknown condition '{other}'{}",
                            did_you_mean(other, ["market", "site"])
                        ),
                    )
                    .help("conditions are market=... and site=..."),
                );
                return None;
            }
        };
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        let (known, what): (Vec<&str>, &str) = match key {
            CondKey::Market => (config.known_markets(), "market"),
            CondKey::Site => (config.site.keys().map(String::as_str).collect(), "site"),
        };
        if values.is_empty() {
            diags.push(Diagnostic::error(
                Code::UnknownCondition,
                path,
                no,
                format!("condition '{arg}' names no {what}"),
            ));
            return None;
        }
        for v in &values {
            if !known.contains(&v.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::UnknownCondition,
                        path,
                        no,
                        format!(
                            "unknown {what} '{v}'{}",
                            did_you_mean(v, known.iter().copied())
                        ),
                    )
                    .help(format!(
                        "known {what}s (from book.toml): {}",
                        known.join(", ")
                    )),
                );
                return None;
            }
        }
        conds.push(Condition { key, values });
    }
    Some(if name == "only" {
        Directive::Only(conds)
    } else {
        Directive::Except(conds)
    })
}

fn holds(conds: &[Condition], site: &SiteCtx) -> bool {
    conds.iter().all(|c| match c.key {
        CondKey::Market => c.values.iter().any(|v| site.markets.contains(v)),
        CondKey::Site => c.values.iter().any(|v| v == site.id),
    })
}

fn describe(conds: &[Condition]) -> String {
    conds
        .iter()
        .map(|c| {
            let what = match c.key {
                CondKey::Market => "market",
                CondKey::Site => "site",
            };
            format!("{what} {}", c.values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Whether a condition block applies at the site, and its label ("Only for market EU").
pub fn evaluate(directive: &Directive, site: &SiteCtx) -> Option<(bool, String)> {
    match directive {
        Directive::Only(c) => Some((holds(c, site), format!("Only for {}", describe(c)))),
        Directive::Except(c) => Some((!holds(c, site), format!("Not for {}", describe(c)))),
        Directive::Op(..) => None,
    }
}

/// A line after conditions are resolved for one site, with the label of the
/// condition that kept it (nested conditions joined).
#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub struct CondLine {
    pub no: usize,
    pub text: Arc<str>,
    pub cond: Option<Arc<str>>,
}

fn join_label(outer: &Option<Arc<str>>, inner: &str) -> Arc<str> {
    match outer {
        Some(o) => Arc::from(format!("{o} · {inner}")),
        None => Arc::from(inner),
    }
}

/// Every line of a body, whatever the conditions: the text of all sites at once.
/// Anchors are given on this text, so a heading has the same anchor at every site.
pub fn flatten_all(nodes: &[Node], out: &mut Vec<SrcLine>) {
    for node in nodes {
        match node {
            Node::Line(l) => out.push(l.clone()),
            Node::Block(b) => flatten_all(&b.children, out),
        }
    }
}

/// Resolves conditions for a site. Operation blocks must not appear here (the
/// addendum composer handles them before calling this on their contents).
pub fn flatten(nodes: &[Node], site: &SiteCtx, cond: &Option<Arc<str>>, out: &mut Vec<CondLine>) {
    for node in nodes {
        match node {
            Node::Line(l) => out.push(CondLine {
                no: l.no,
                text: l.text.clone(),
                cond: cond.clone(),
            }),
            Node::Block(b) => {
                if let Some((true, label)) = evaluate(&b.directive, site) {
                    flatten(&b.children, site, &Some(join_label(cond, &label)), out);
                }
            }
        }
    }
}

/// Like `flatten`, for nested use by the composer.
pub fn nested_label(outer: &Option<Arc<str>>, inner: &str) -> Option<Arc<str>> {
    Some(join_label(outer, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            Path::new("book.toml"),
            "[book]\ntitle = \"T\"\n[site.cork]\nname = \"Cork\"\nmarkets = [\"EU\", \"FDA\"]\n[site.boston]\nname = \"Boston\"\nmarkets = [\"FDA\"]\n",
        )
        .unwrap()
    }

    fn parse(body: &str, addendum: bool) -> (Vec<Node>, Vec<Diagnostic>) {
        let mut d = Diagnostics::new();
        let nodes = parse_body(Path::new("x.md"), body, 10, addendum, &config(), &mut d);
        (nodes, d.into_sorted())
    }

    fn texts(nodes: &[Node], site: &str, markets: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let ctx = SiteCtx {
            id: site,
            name: site,
            markets,
        };
        flatten(nodes, &ctx, &None, &mut out);
        out.into_iter().map(|l| l.text.to_string()).collect()
    }

    #[test]
    fn conditions_follow_the_site() {
        let (nodes, d) = parse(
            "a\n::: only market=EU\neu\n:::\n::: except market=FDA\nnofda\n:::\nz\n",
            false,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            texts(&nodes, "cork", &["EU".into(), "FDA".into()]),
            ["a", "eu", "z"]
        );
        assert_eq!(texts(&nodes, "boston", &["FDA".into()]), ["a", "z"]);
    }

    #[test]
    fn longer_outer_fences_nest() {
        let (nodes, d) = parse(
            ":::: only site=cork\n::: only market=EU\nx\n:::\ny\n::::\n",
            false,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(texts(&nodes, "cork", &["EU".into()]), ["x", "y"]);
        assert!(texts(&nodes, "boston", &["EU".into()]).is_empty());
    }

    #[test]
    fn fences_in_code_are_text() {
        let (nodes, d) = parse("```\n::: only market=XX\n```\n~~~~\n:::\n~~~~\n", false);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(texts(&nodes, "cork", &[]).len(), 6);
    }

    #[test]
    fn unknown_market_and_unclosed_fence_are_located() {
        let (_, d) = parse("a\n::: only market=UE\nb\n", false);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|x| x.line == 11), "{d:?}");
        assert!(d.iter().any(|x| x
            .message
            .contains("unknown market 'UE' (did you mean 'EU'?)")));
        assert!(d.iter().any(|x| x.message.contains("never closed")));
    }

    #[test]
    fn operations_only_in_addenda() {
        let (_, d) = parse("::: append #scope\nx\n:::\n", false);
        assert!(d[0].message.contains("belong in site addenda"));
        let (nodes, d) = parse("::: insert-after #scope\nx\n:::\n", true);
        assert!(d.is_empty());
        match &nodes[0] {
            Node::Block(b) => assert_eq!(
                b.directive,
                Directive::Op(OpKind::InsertAfter, "scope".into())
            ),
            other => panic!("{other:?}"),
        }
    }
}
