//! Reading the repository. Only this module talks to git.

pub mod scan;
