//! The question promote asks per piece on a terminal: make it global, or keep it for
//! the site. Reads answers line by line, so it works on any reader and writer.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};

use super::rewrite::Piece;

/// How many lines of a piece are shown before the question.
const SHOWN: usize = 6;

/// Asks about each piece; returns the indices of the pieces kept for the site. An empty
/// answer or `y` makes the piece global, `n` keeps it; the end of the input makes the
/// rest global, as off a terminal.
pub fn ask(
    pieces: &[Piece],
    file: &str,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> BTreeSet<usize> {
    let mut kept = BTreeSet::new();
    for (i, p) in pieces.iter().enumerate() {
        let _ = writeln!(out, "\n{file}:{}: {}", p.line, p.label());
        for l in p.content.iter().take(SHOWN) {
            let _ = writeln!(out, "  | {l}");
        }
        if p.content.len() > SHOWN {
            let _ = writeln!(out, "  | … ({} more line(s))", p.content.len() - SHOWN);
        }
        loop {
            let _ = write!(out, "make it global? [Y/n] (n keeps it for the site) ");
            let _ = out.flush();
            let mut answer = String::new();
            if input.read_line(&mut answer).unwrap_or(0) == 0 {
                let _ = writeln!(out);
                return kept;
            }
            match answer.trim().to_ascii_lowercase().as_str() {
                "" | "y" | "yes" => break,
                "n" | "no" => {
                    kept.insert(i);
                    break;
                }
                _ => {
                    let _ = writeln!(out, "answer y or n");
                }
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promote::rewrite::{pieces, Source};

    #[test]
    fn each_piece_is_asked_about_and_n_keeps_it() {
        let text = "---\naddendum-to: SOP-1\nrationale: r\n---\n::: append #a\nA.\n:::\n::: replace #b\nB.\n:::\n::: prepend #c\nC.\n:::\n";
        let ps = pieces(&Source::new(text, 5));
        let mut out = Vec::new();
        let kept = ask(&ps, "x.md", &mut "maybe\nn\n\n".as_bytes(), &mut out);
        assert_eq!(kept, BTreeSet::from([0]));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\nx.md:5: append #a\n  | A.\nmake it global? [Y/n] (n keeps it for the site) answer y or n\nmake it global? [Y/n] (n keeps it for the site) \nx.md:8: replace #b\n  | B.\nmake it global? [Y/n] (n keeps it for the site) \nx.md:11: prepend #c\n  | C.\nmake it global? [Y/n] (n keeps it for the site) \n"
        );
    }
}
