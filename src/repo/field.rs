//! The four resource values Attune manages and where each lives in a container.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    CpuRequest,
    MemoryRequest,
    CpuLimit,
    MemoryLimit,
}

impl Field {
    pub const ALL: [Field; 4] = [
        Field::CpuRequest,
        Field::MemoryRequest,
        Field::CpuLimit,
        Field::MemoryLimit,
    ];

    /// The name used in markers and reports.
    pub fn name(self) -> &'static str {
        match self {
            Field::CpuRequest => "cpu-request",
            Field::MemoryRequest => "memory-request",
            Field::CpuLimit => "cpu-limit",
            Field::MemoryLimit => "memory-limit",
        }
    }

    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// `(requests|limits, cpu|memory)` below a container's `resources`.
    pub fn keys(self) -> [&'static str; 2] {
        match self {
            Field::CpuRequest => ["requests", "cpu"],
            Field::MemoryRequest => ["requests", "memory"],
            Field::CpuLimit => ["limits", "cpu"],
            Field::MemoryLimit => ["limits", "memory"],
        }
    }

    pub fn is_limit(self) -> bool {
        matches!(self, Field::CpuLimit | Field::MemoryLimit)
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
