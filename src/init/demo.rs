//! `procsite init --demo`: the quality system of Brightwater Medical Devices, a fictitious
//! maker of medical devices with three sites, committed as a scripted history of nine
//! months with three releases, so that `procsite publish` has something real to publish.
//!
//! Every commit and tag has a fixed author and time, so the demo is the same repository,
//! commit ids included, on every machine and every day. Approvals follow the rule that
//! makes them evidence: each approval commit changes one document and carries an
//! `Approved-by:` trailer for each approval it records in that document's front-matter.

use time::macros::datetime;
use time::OffsetDateTime;

use crate::repo::create::{ScriptedCommit, ScriptedTag, Stamp};

/// Someone who commits or tags.
pub struct Person {
    pub name: &'static str,
    pub email: &'static str,
}

const PRIYA: Person = Person {
    name: "Priya Raman",
    email: "priya.raman@brightwater.example",
};
const MARGARET: Person = Person {
    name: "Margaret Ellis",
    email: "margaret.ellis@brightwater.example",
};
const SAMUEL: Person = Person {
    name: "Samuel Okoye",
    email: "samuel.okoye@brightwater.example",
};
const NIAMH: Person = Person {
    name: "Niamh Doyle",
    email: "niamh.doyle@brightwater.example",
};
const CIARA: Person = Person {
    name: "Ciara Walsh",
    email: "ciara.walsh@brightwater.example",
};
const MARCUS: Person = Person {
    name: "Marcus Green",
    email: "marcus.green@brightwater.example",
};
const DANIEL: Person = Person {
    name: "Daniel Brooks",
    email: "daniel.brooks@brightwater.example",
};
const LENA: Person = Person {
    name: "Lena Vogel",
    email: "lena.vogel@brightwater.example",
};
const JONAS: Person = Person {
    name: "Jonas Hartmann",
    email: "jonas.hartmann@brightwater.example",
};
const TOM: Person = Person {
    name: "Tom Becker",
    email: "tom.becker@brightwater.example",
};
const RACHEL: Person = Person {
    name: "Rachel Adams",
    email: "rachel.adams@brightwater.example",
};
const GRACE: Person = Person {
    name: "Grace Kim",
    email: "grace.kim@brightwater.example",
};

/// The paths of the demo's files.
const BOOK: &str = "book.toml";
const GITIGNORE: &str = ".gitignore";
const SOP_0010: &str = "procedures/global/sop/SOP-0010.md";
const SOP_0020: &str = "procedures/global/sop/SOP-0020.md";
const SOP_0030: &str = "procedures/global/sop/SOP-0030.md";
const SOP_0040: &str = "procedures/global/sop/SOP-0040.md";
const SOP_0050: &str = "procedures/global/sop/SOP-0050.md";
const SOP_0060: &str = "procedures/global/sop/SOP-0060.md";
const SOP_0070: &str = "procedures/global/sop/SOP-0070.md";
const SOP_0080: &str = "procedures/global/sop/SOP-0080.md";
const LIMERICK_0020: &str = "procedures/sites/limerick/SOP-0020-limerick.md";
const RALEIGH_0020: &str = "procedures/sites/raleigh/SOP-0020-raleigh.md";
const RALEIGH_0030: &str = "procedures/sites/raleigh/SOP-0030-raleigh.md";
const TUTTLINGEN_0010: &str = "procedures/sites/tuttlingen/SOP-0010-tuttlingen.md";
const WI_TUT_001: &str = "procedures/sites/tuttlingen/WI-TUT-001.md";

/// The texts, each as approved; a step may write one in review or obsolete instead.
mod text {
    pub const BOOK: &str = include_str!("demo/book.toml");
    pub const GITIGNORE: &str = include_str!("demo/gitignore");
    pub const SOP_0010: &str = include_str!("demo/SOP-0010.md");
    pub const SOP_0020_R1: &str = include_str!("demo/SOP-0020.r1.md");
    pub const SOP_0020_R2: &str = include_str!("demo/SOP-0020.r2.md");
    pub const SOP_0030: &str = include_str!("demo/SOP-0030.md");
    pub const SOP_0040_R1: &str = include_str!("demo/SOP-0040.r1.md");
    pub const SOP_0040_R2: &str = include_str!("demo/SOP-0040.r2.md");
    pub const SOP_0050: &str = include_str!("demo/SOP-0050.md");
    pub const SOP_0060: &str = include_str!("demo/SOP-0060.md");
    /// Withdrawn: the record of the withdrawal and its approval.
    pub const SOP_0060_OBSOLETE: &str = include_str!("demo/SOP-0060.obsolete.md");
    pub const SOP_0070: &str = include_str!("demo/SOP-0070.md");
    pub const SOP_0080_R1: &str = include_str!("demo/SOP-0080.r1.md");
    /// Still in review when the history ends.
    pub const SOP_0080_R2: &str = include_str!("demo/SOP-0080.r2.md");
    pub const LIMERICK_0020_R1: &str = include_str!("demo/SOP-0020-limerick.r1.md");
    pub const LIMERICK_0020_R2: &str = include_str!("demo/SOP-0020-limerick.r2.md");
    pub const RALEIGH_0020: &str = include_str!("demo/SOP-0020-raleigh.md");
    pub const RALEIGH_0030: &str = include_str!("demo/SOP-0030-raleigh.md");
    pub const TUTTLINGEN_0010: &str = include_str!("demo/SOP-0010-tuttlingen.md");
    pub const WI_TUT_001_R1: &str = include_str!("demo/WI-TUT-001.r1.md");
    pub const WI_TUT_001_R2: &str = include_str!("demo/WI-TUT-001.r2.md");
}

/// How a step writes a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// As it is: configuration, or a document with its approvals.
    AsIs,
    /// A draft for review: `status: in-review`, without effective date and approvals.
    InReview,
}

struct Put {
    path: &'static str,
    text: &'static str,
    form: Form,
}

const fn as_is(path: &'static str, text: &'static str) -> Put {
    Put {
        path,
        text,
        form: Form::AsIs,
    }
}

const fn in_review(path: &'static str, text: &'static str) -> Put {
    Put {
        path,
        text,
        form: Form::InReview,
    }
}

enum Step {
    Commit {
        at: OffsetDateTime,
        by: &'static Person,
        message: &'static str,
        puts: &'static [Put],
    },
    /// An annotated tag on the commit before it.
    Release {
        tag: &'static str,
        at: OffsetDateTime,
        by: &'static Person,
        message: &'static str,
    },
}

/// The history, oldest first. Raleigh keeps US Eastern time, Limerick Irish time and
/// Tuttlingen Central European time, each with its summer time.
const SCRIPT: &[Step] = &[
    // The first release: the procedures move into the repository, each site adapts
    // what it must, and every document is approved by its approver alone. A document
    // is approved after those that link to it: until its effective date it is not
    // published, and a draft shown in a preview must not link to it.
    Step::Commit {
        at: datetime!(2026-01-07 10:30 -5),
        by: &PRIYA,
        message: "Set up the procedure repository with the global procedures for review\n\nRaleigh, Limerick and Tuttlingen publish their procedures from this\nrepository from release 2026.1 on; the approver registry in book.toml lists\nwho approves what. SOP-0010, SOP-0020, SOP-0030, SOP-0040, SOP-0060 and\nSOP-0080 come from the legacy system with their references updated for the\nQMSR, each in review until its approvers record their approval.\n\nChange-Control: CC-2026-001\nChange-Reason: 21 CFR 820 incorporates ISO 13485:2016 from 2 February 2026 (QMSR); procedures move from the legacy document management system to the procedure repository\n",
        puts: &[
            as_is(BOOK, text::BOOK),
            as_is(GITIGNORE, text::GITIGNORE),
            in_review(SOP_0010, text::SOP_0010),
            in_review(SOP_0020, text::SOP_0020_R1),
            in_review(SOP_0030, text::SOP_0030),
            in_review(SOP_0040, text::SOP_0040_R1),
            in_review(SOP_0060, text::SOP_0060),
            in_review(SOP_0080, text::SOP_0080_R1),
        ],
    },
    Step::Commit {
        at: datetime!(2026-01-08 14:10 +0),
        by: &NIAMH,
        message: "Limerick: adapt SOP-0020 for supplier CAPAs and record retention\n\nChange-Control: CC-2026-002\nChange-Reason: HPRA inspection observation on the oversight of supplier CAPAs; class III record retention\n",
        puts: &[in_review(LIMERICK_0020, text::LIMERICK_0020_R1)],
    },
    Step::Commit {
        at: datetime!(2026-01-09 11:20 -5),
        by: &MARCUS,
        message: "Raleigh: the US complaint handling unit, as an addendum to SOP-0030\n\nChange-Control: CC-2026-003\nChange-Reason: One complaint handling unit for every US complaint, reached through the Raleigh customer service line\n",
        puts: &[in_review(RALEIGH_0030, text::RALEIGH_0030)],
    },
    Step::Commit {
        at: datetime!(2026-01-12 09:40 +1),
        by: &LENA,
        message: "Tuttlingen: German translations (addendum to SOP-0010) and WI-TUT-001\n\nChange-Control: CC-2026-004\nChange-Reason: The works agreement requires work instructions in German; the passivation instruction moves from the legacy system\n",
        puts: &[
            in_review(TUTTLINGEN_0010, text::TUTTLINGEN_0010),
            in_review(WI_TUT_001, text::WI_TUT_001_R1),
        ],
    },
    Step::Commit {
        at: datetime!(2026-01-19 16:02 -5),
        by: &MARGARET,
        message: "Approve SOP-0010 Document Control, effective 2026-02-02\n\nChange-Control: CC-2026-001\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0010, text::SOP_0010)],
    },
    Step::Commit {
        at: datetime!(2026-01-20 11:15 -5),
        by: &MARGARET,
        message: "Approve SOP-0030 Complaint Handling, effective 2026-02-02\n\nReviewed by Regulatory Affairs for the FDA and EU reporting rules.\n\nChange-Control: CC-2026-001\nApproved-by: Samuel Okoye <samuel.okoye@brightwater.example>\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0030, text::SOP_0030)],
    },
    Step::Commit {
        at: datetime!(2026-01-20 11:30 -5),
        by: &MARGARET,
        message: "Approve SOP-0020 Corrective and Preventive Action, effective 2026-02-02\n\nChange-Control: CC-2026-001\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0020, text::SOP_0020_R1)],
    },
    Step::Commit {
        at: datetime!(2026-01-20 11:45 -5),
        by: &MARGARET,
        message: "Approve SOP-0040 Training and Competence, effective 2026-02-02\n\nChange-Control: CC-2026-001\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0040, text::SOP_0040_R1)],
    },
    Step::Commit {
        at: datetime!(2026-01-21 09:00 -5),
        by: &MARGARET,
        message: "Approve SOP-0060 Nonconforming Material Review, effective 2026-02-02\n\nChange-Control: CC-2026-001\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0060, text::SOP_0060)],
    },
    Step::Commit {
        at: datetime!(2026-01-21 09:20 -5),
        by: &MARGARET,
        message: "Approve SOP-0080 Medical Device Reporting, effective 2026-02-02\n\nReviewed by Regulatory Affairs against 21 CFR 803 and 806.\n\nChange-Control: CC-2026-001\nApproved-by: Samuel Okoye <samuel.okoye@brightwater.example>\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0080, text::SOP_0080_R1)],
    },
    Step::Commit {
        at: datetime!(2026-01-22 09:30 +0),
        by: &CIARA,
        message: "Approve Limerick's addendum to SOP-0020\n\nChange-Control: CC-2026-002\nApproved-by: Ciara Walsh <ciara.walsh@brightwater.example>\n",
        puts: &[as_is(LIMERICK_0020, text::LIMERICK_0020_R1)],
    },
    Step::Commit {
        at: datetime!(2026-01-22 15:45 -5),
        by: &DANIEL,
        message: "Approve Raleigh's addendum to SOP-0030\n\nChange-Control: CC-2026-003\nApproved-by: Daniel Brooks <daniel.brooks@brightwater.example>\n",
        puts: &[as_is(RALEIGH_0030, text::RALEIGH_0030)],
    },
    Step::Commit {
        at: datetime!(2026-01-23 08:50 +1),
        by: &JONAS,
        message: "Approve Tuttlingen's addendum to SOP-0010\n\nChange-Control: CC-2026-004\nApproved-by: Jonas Hartmann <jonas.hartmann@brightwater.example>\n",
        puts: &[as_is(TUTTLINGEN_0010, text::TUTTLINGEN_0010)],
    },
    Step::Commit {
        at: datetime!(2026-01-23 09:05 +1),
        by: &JONAS,
        message: "Approve WI-TUT-001 Passivation of Stainless-Steel Instruments, effective 2026-02-02\n\nChange-Control: CC-2026-004\nApproved-by: Jonas Hartmann <jonas.hartmann@brightwater.example>\n",
        puts: &[as_is(WI_TUT_001, text::WI_TUT_001_R1)],
    },
    Step::Release {
        tag: "release/2026.1",
        at: datetime!(2026-02-02 08:30 -5),
        by: &PRIYA,
        message: "Release 2026.1\n\nThe first controlled release from the procedure repository, in force with\nthe QMSR from 2 February 2026.\n",
    },
    // The second release: SOP-0070 replaces SOP-0060, CAPA is revised, and Limerick's
    // adaptation of it goes stale until the site reviews and re-approves it. SOP-0060
    // is withdrawn before SOP-0070, which supersedes it, is approved.
    Step::Commit {
        at: datetime!(2026-03-02 13:20 -5),
        by: &TOM,
        message: "SOP-0070 Control of Nonconforming Product, to replace SOP-0060, for review\n\nOne procedure for identification, segregation, evaluation, disposition and\nconcessions, instead of the MRB procedure alone.\n\nChange-Control: CC-2026-011\nChange-Reason: Internal audit IA-2025-07 found dispositions decided outside the nonconformance record\n",
        puts: &[in_review(SOP_0070, text::SOP_0070)],
    },
    Step::Commit {
        at: datetime!(2026-03-04 10:00 -5),
        by: &TOM,
        message: "SOP-0020 revision 2 for review: risk classes and effectiveness checks\n\nCAPAs are classified A, B or C by risk, with investigation times per class;\nthe CAPA board reviews class A monthly; effectiveness checks are planned with\nthe action plan and made no earlier than 90 days after the last action.\nNonconformities come in through SOP-0070.\n\nChange-Control: CC-2026-012\nChange-Reason: Management review 2025: CAPA cycle times and effectiveness checks closed too early\n",
        puts: &[in_review(SOP_0020, text::SOP_0020_R2)],
    },
    Step::Commit {
        at: datetime!(2026-04-06 09:10 -4),
        by: &MARGARET,
        message: "Approve SOP-0020 revision 2, effective 2026-05-04\n\nLimerick adapts SOP-0020: its addendum is now based on revision 1 and must\nbe reviewed against revision 2 before the next release.\n\nChange-Control: CC-2026-012\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0020, text::SOP_0020_R2)],
    },
    Step::Commit {
        at: datetime!(2026-04-06 15:00 -4),
        by: &PRIYA,
        message: "Withdraw SOP-0060, superseded by SOP-0070\n\nSOP-0070 names SOP-0060 under supersedes and is approved next, under the\nsame change control. The withdrawal is approved on its own.\n\nChange-Control: CC-2026-011\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0060, text::SOP_0060_OBSOLETE)],
    },
    Step::Commit {
        at: datetime!(2026-04-07 10:00 -4),
        by: &MARGARET,
        message: "Approve SOP-0070 Control of Nonconforming Product, effective 2026-05-04\n\nChange-Control: CC-2026-011\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0070, text::SOP_0070)],
    },
    Step::Commit {
        at: datetime!(2026-04-13 11:00 +1),
        by: &NIAMH,
        message: "Limerick: review the SOP-0020 addendum against revision 2\n\nThe additions to responsibilities and the retention of records still apply.\nEffectiveness checks of sterile-barrier CAPAs also look at the bioburden\ntrend.\n\nChange-Control: CC-2026-012\nChange-Reason: SOP-0020 revision 2 plans effectiveness checks; Limerick's clean-room data belong in them\n",
        puts: &[in_review(LIMERICK_0020, text::LIMERICK_0020_R2)],
    },
    Step::Commit {
        at: datetime!(2026-04-14 09:45 +1),
        by: &CIARA,
        message: "Approve Limerick's addendum to SOP-0020 revision 2\n\nChange-Control: CC-2026-012\nApproved-by: Ciara Walsh <ciara.walsh@brightwater.example>\n",
        puts: &[as_is(LIMERICK_0020, text::LIMERICK_0020_R2)],
    },
    Step::Release {
        tag: "release/2026.2",
        at: datetime!(2026-05-04 09:00 -4),
        by: &PRIYA,
        message: "Release 2026.2\n\nSOP-0070 replaces SOP-0060; SOP-0020 revision 2 with Limerick's re-approved\nadaptation.\n",
    },
    // The third release: a new procedure, a site's own revision, a global revision
    // approved before the release but effective only after it, and Raleigh adapting
    // SOP-0020 as Limerick did: a candidate for harmonization.
    Step::Commit {
        at: datetime!(2026-06-08 10:15 -4),
        by: &RACHEL,
        message: "SOP-0050 Internal Audit, for review\n\nChange-Control: CC-2026-023\nChange-Reason: Internal audit gets its own procedure with a risk-based three-year programme\n",
        puts: &[in_review(SOP_0050, text::SOP_0050)],
    },
    Step::Commit {
        at: datetime!(2026-06-15 14:30 -4),
        by: &MARCUS,
        message: "Raleigh: adapt SOP-0020 for supplier CAPAs, for review\n\nThe site quality head approves the action plan of every CAPA that involves a\nsupplier of sterile-barrier or implant-grade material, as Limerick's\naddendum has asked since release 2026.1.\n\nChange-Control: CC-2026-025\nChange-Reason: FDA inspection of May 2026, observation 2: supplier CAPAs were not overseen by the site\n",
        puts: &[in_review(RALEIGH_0020, text::RALEIGH_0020)],
    },
    Step::Commit {
        at: datetime!(2026-06-22 09:30 -4),
        by: &DANIEL,
        message: "Approve Raleigh's addendum to SOP-0020\n\nChange-Control: CC-2026-025\nApproved-by: Daniel Brooks <daniel.brooks@brightwater.example>\n",
        puts: &[as_is(RALEIGH_0020, text::RALEIGH_0020)],
    },
    Step::Commit {
        at: datetime!(2026-07-13 10:30 +2),
        by: &LENA,
        message: "WI-TUT-001 revision 2 for review: citric acid passivation\n\nChange-Control: CC-2026-027\nChange-Reason: Nitric acid replaced by citric acid (ASTM A967 Citric 2) for operator safety; line PL-2 revalidated under VR-TUT-2026-04\n",
        puts: &[in_review(WI_TUT_001, text::WI_TUT_001_R2)],
    },
    Step::Commit {
        at: datetime!(2026-08-17 11:10 -4),
        by: &GRACE,
        message: "SOP-0040 revision 2 for review: competence on critical tasks\n\nChange-Control: CC-2026-031\nChange-Reason: Notified body audit 2026: competence on critical tasks was not assessed after training\n",
        puts: &[in_review(SOP_0040, text::SOP_0040_R2)],
    },
    Step::Commit {
        at: datetime!(2026-08-24 14:00 -4),
        by: &MARGARET,
        message: "Approve SOP-0050 Internal Audit, effective 2026-09-14\n\nChange-Control: CC-2026-023\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0050, text::SOP_0050)],
    },
    Step::Commit {
        at: datetime!(2026-08-31 08:45 +2),
        by: &JONAS,
        message: "Approve WI-TUT-001 revision 2, effective 2026-09-14\n\nChange-Control: CC-2026-027\nApproved-by: Jonas Hartmann <jonas.hartmann@brightwater.example>\n",
        puts: &[as_is(WI_TUT_001, text::WI_TUT_001_R2)],
    },
    Step::Commit {
        at: datetime!(2026-09-07 16:20 -4),
        by: &MARGARET,
        message: "Approve SOP-0040 revision 2, effective 2026-10-01\n\nEffective on 2026-10-01, after release 2026.3, so that line managers and\ntraining coordinators are trained first: that release announces it, and\nrevision 1 stays in force until then.\n\nChange-Control: CC-2026-031\nApproved-by: Margaret Ellis <margaret.ellis@brightwater.example>\n",
        puts: &[as_is(SOP_0040, text::SOP_0040_R2)],
    },
    Step::Release {
        tag: "release/2026.3",
        at: datetime!(2026-09-14 09:00 -4),
        by: &PRIYA,
        message: "Release 2026.3\n\nSOP-0050 Internal Audit is new; WI-TUT-001 revision 2 at Tuttlingen;\nRaleigh adapts SOP-0020 for supplier CAPAs; SOP-0040 revision 2 is approved\nand takes effect on 2026-10-01.\n",
    },
    // Work in progress after the last release: what `procsite serve` previews as a draft.
    Step::Commit {
        at: datetime!(2026-09-21 10:00 -4),
        by: &SAMUEL,
        message: "SOP-0080 revision 2 for review: electronic MDR event files\n\nChange-Control: CC-2026-036\nChange-Reason: The complaint system upgrade makes MDR event files electronic records under 21 CFR Part 11\n",
        puts: &[in_review(SOP_0080, text::SOP_0080_R2)],
    },
];

/// The front-matter lines of `text` changed for `form`; the body is left as it is.
fn shape(text: &str, form: Form) -> String {
    let text = text.replace("\r\n", "\n");
    if form == Form::AsIs {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut fences = 0;
    let mut in_approvals = false;
    for line in text.split_inclusive('\n') {
        if fences >= 2 {
            out.push_str(line);
            continue;
        }
        if line.trim_end() == "---" {
            fences += 1;
            out.push_str(line);
            continue;
        }
        if in_approvals && line.starts_with("  - ") {
            continue;
        }
        in_approvals = false;
        match (form, line.trim_end()) {
            (_, "status: approved") => out.push_str("status: in-review\n"),
            (Form::InReview, "approvals:") => in_approvals = true,
            (Form::InReview, l) if l.starts_with("effective:") => {}
            _ => out.push_str(line),
        }
    }
    out
}

fn stamp(by: &'static Person, at: OffsetDateTime) -> Stamp<'static> {
    Stamp {
        name: by.name,
        email: by.email,
        seconds: at.unix_timestamp(),
        offset_minutes: i32::from(at.offset().whole_minutes()),
    }
}

/// The demo's history as git objects to write: its commits and its release tags.
pub fn history() -> (Vec<ScriptedCommit<'static>>, Vec<ScriptedTag<'static>>) {
    let mut commits: Vec<ScriptedCommit> = Vec::new();
    let mut tags = Vec::new();
    for step in SCRIPT {
        match step {
            Step::Commit {
                at,
                by,
                message,
                puts,
            } => commits.push(ScriptedCommit {
                author: stamp(by, *at),
                committer: stamp(by, *at),
                message: message.to_string(),
                writes: puts
                    .iter()
                    .map(|p| (p.path.to_string(), shape(p.text, p.form).into_bytes()))
                    .collect(),
                removes: Vec::new(),
            }),
            Step::Release {
                tag,
                at,
                by,
                message,
            } => tags.push(ScriptedTag {
                name: tag.to_string(),
                commit: commits.len().saturating_sub(1),
                tagger: stamp(by, *at),
                message: message.to_string(),
            }),
        }
    }
    (commits, tags)
}

/// Every path the demo writes, sorted.
pub fn paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = SCRIPT
        .iter()
        .flat_map(|s| match s {
            Step::Commit { puts, .. } => puts.iter().map(|p| p.path).collect(),
            Step::Release { .. } => Vec::new(),
        })
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
}

/// A release of the demo: its tag, its date and the first line of its message after the
/// title, for the summary `init --demo` prints.
pub fn releases() -> Vec<(&'static str, String, String)> {
    SCRIPT
        .iter()
        .filter_map(|s| match s {
            Step::Release {
                tag, at, message, ..
            } => {
                let what = message
                    .split("\n\n")
                    .nth(1)
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                Some((*tag, at.date().to_string(), what))
            }
            Step::Commit { .. } => None,
        })
        .collect()
}

/// The subjects of the commits after the last release: work in progress.
pub fn since_last_release() -> Vec<&'static str> {
    let last = SCRIPT
        .iter()
        .rposition(|s| matches!(s, Step::Release { .. }))
        .map_or(0, |i| i + 1);
    SCRIPT[last..]
        .iter()
        .filter_map(|s| match s {
            Step::Commit { message, .. } => message.lines().next(),
            Step::Release { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_for_review_has_no_effective_date_or_approvals() {
        let draft = shape(text::SOP_0030, Form::InReview);
        let front = draft.split("---\n").nth(1).unwrap();
        assert!(front.contains("status: in-review\n"), "{front}");
        assert!(!front.contains("effective:"), "{front}");
        assert!(
            !front.contains("approvals:") && !front.contains("Margaret"),
            "{front}"
        );
        assert!(front.contains("review-due: 2028-02-01\n"), "{front}");
        let body = |t: &str| t.splitn(3, "---\n").nth(2).unwrap().to_string();
        assert_eq!(body(&draft), body(text::SOP_0030));
    }

    #[test]
    fn the_script_is_in_time_order_and_the_last_release_is_followed_by_a_draft() {
        let mut last = None;
        for s in SCRIPT {
            let at = match s {
                Step::Commit { at, .. } | Step::Release { at, .. } => *at,
            };
            assert!(last.is_none_or(|l| l < at), "{at} is out of order");
            last = Some(at);
        }
        let (commits, tags) = history();
        assert_eq!(tags.len(), 3);
        assert_eq!(tags.last().unwrap().commit, commits.len() - 2);
    }
}
