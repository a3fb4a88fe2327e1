//! A `--set` or `--set-string` assignment as `helm` is given it: the flag and `KEY=VAL`, never
//! parsed by attune (Helm itself turns it into values, [`super::Helm::set_values`]).

/// Which flag gives an assignment to `helm`: `--set` types the value as YAML does (`2` is a
/// number), `--set-string` keeps it a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SetKind {
    Set,
    SetString,
}

/// One `KEY=VAL` assignment and its flag, as `helm` is given it. Helm applies every `--set`
/// before every `--set-string`, whatever their order on the command line.
#[derive(Clone, PartialEq, Eq)]
pub struct SetArg {
    pub kind: SetKind,
    pub assignment: String,
}

impl SetArg {
    pub fn set(assignment: impl Into<String>) -> SetArg {
        SetArg {
            kind: SetKind::Set,
            assignment: assignment.into(),
        }
    }

    pub fn string(assignment: impl Into<String>) -> SetArg {
        SetArg {
            kind: SetKind::SetString,
            assignment: assignment.into(),
        }
    }

    /// The argument as one word: `--set=` keeps an assignment that starts with a dash from
    /// being read as a flag.
    pub fn arg(&self) -> String {
        match self.kind {
            SetKind::Set => format!("--set={}", self.assignment),
            SetKind::SetString => format!("--set-string={}", self.assignment),
        }
    }

    /// The flag's name, for messages.
    pub fn flag(&self) -> &'static str {
        match self.kind {
            SetKind::Set => "--set",
            SetKind::SetString => "--set-string",
        }
    }
}

/// Values can be credentials: only the flag and the key are shown.
impl std::fmt::Debug for SetArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = self.assignment.split('=').next().unwrap_or_default();
        write!(f, "{} {key}=…", self.flag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_assignment_is_one_word_and_debug_hides_its_value() {
        let plain = SetArg::set("-a=1");
        let string = SetArg::string("db.password=hunter2");
        assert_eq!(plain.arg(), "--set=-a=1");
        assert_eq!(string.arg(), "--set-string=db.password=hunter2");
        assert_eq!(format!("{string:?}"), "--set-string db.password=…");
        assert!(
            SetKind::Set < SetKind::SetString,
            "helm applies --set first"
        );
    }
}
