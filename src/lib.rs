//! procsite: publishes a git repository of controlled procedures as one static
//! website per manufacturing site.
//!
//! The pipeline, one stage per module: [`config`] → [`repo::scan`] → [`parse`] →
//! [`site`] → [`compose`] → [`render`] → [`write`], driven by [`build`].

pub mod build;
pub mod cli;
pub mod compose;
pub mod config;
pub mod diag;
pub mod diff;
pub mod diffcmd;
pub mod fs;
pub mod inforce;
pub mod layout;
pub mod lenient;
pub mod manifest;
pub mod model;
pub mod output;
pub mod parse;
pub mod plan;
pub mod publish;
pub mod release;
pub mod render;
pub mod repo;
pub mod report;
pub mod site;
pub mod stamp;
#[cfg(test)]
mod testkit;
pub mod yaml;
