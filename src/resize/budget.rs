//! `maxTotalCpuIncrease` / `maxTotalMemoryIncrease`: how much request one reconcile may add
//! across all of a policy's pods. Resizes are admitted in plan order (pods by name within a
//! workload, workloads by name) while their increases fit; a pod whose increase does not fit
//! is skipped whole (`BudgetExhausted`) and waits for the next cycle. Decreases cost nothing
//! and give nothing back: the budget bounds how much more a cycle asks of the nodes.

use crate::crd::UpdateStrategy;
use crate::quantity;

use super::ResizeError;
use super::decision::{Decision, Field, Plan, Resize, Resource, Skip, SkipReason};

/// What is left of one cycle's budget, in millicores and bytes; `None` is no limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    cpu: Option<Left>,
    memory: Option<Left>,
    /// Pods skipped because the budget ran out, this cycle.
    exhausted: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Left {
    text: String,
    units: i128,
}

impl Budget {
    /// A fresh budget for one cycle. Fails on text that is not a non-negative quantity.
    pub fn from_strategy(strategy: Option<&UpdateStrategy>) -> Result<Budget, ResizeError> {
        let read = |field: &str, text: Option<&String>, resource: Resource| {
            let Some(text) = text else { return Ok(None) };
            let units = quantity::parse(text)
                .ok()
                .filter(|q| !q.is_negative())
                .and_then(|q| units(resource, &q));
            match units {
                Some(units) => Ok(Some(Left {
                    text: text.clone(),
                    units,
                })),
                None => Err(ResizeError::BadBudget {
                    field: format!("spec.updateStrategy.{field}"),
                    value: text.clone(),
                }),
            }
        };
        Ok(Budget {
            cpu: read(
                "maxTotalCpuIncrease",
                strategy.and_then(|s| s.max_total_cpu_increase.as_ref()),
                Resource::Cpu,
            )?,
            memory: read(
                "maxTotalMemoryIncrease",
                strategy.and_then(|s| s.max_total_memory_increase.as_ref()),
                Resource::Memory,
            )?,
            exhausted: Vec::new(),
        })
    }

    /// `plan` with the resizes that no longer fit turned into `BudgetExhausted` skips, and the
    /// rest taken from the budget.
    pub fn admit(&mut self, mut plan: Plan) -> Plan {
        if self.cpu.is_none() && self.memory.is_none() {
            return plan;
        }
        for pod in &mut plan.pods {
            let Decision::Resize(resize) = &pod.decision else {
                continue;
            };
            let (cpu, memory) = (
                increase(resize, Resource::Cpu),
                increase(resize, Resource::Memory),
            );
            let fits =
                |left: &Option<Left>, want: i128| left.as_ref().is_none_or(|l| want <= l.units);
            if fits(&self.cpu, cpu) && fits(&self.memory, memory) {
                for (left, want) in [(&mut self.cpu, cpu), (&mut self.memory, memory)] {
                    if let Some(l) = left {
                        l.units -= want;
                    }
                }
                continue;
            }
            let detail = format!(
                "the cycle's increase budget is used up (maxTotalCpuIncrease {}, \
                 maxTotalMemoryIncrease {}); this pod would add {}m CPU and {} bytes of memory",
                self.cpu.as_ref().map_or("unlimited", |l| l.text.as_str()),
                self.memory
                    .as_ref()
                    .map_or("unlimited", |l| l.text.as_str()),
                cpu,
                memory
            );
            self.exhausted.push(pod.pod.clone());
            pod.decision = Decision::Skip(Skip::new(SkipReason::BudgetExhausted, detail));
        }
        plan
    }

    /// The event text when the budget ran out this cycle.
    pub fn exhausted_message(&self) -> Option<String> {
        if self.exhausted.is_empty() {
            return None;
        }
        let mut names = self
            .exhausted
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if self.exhausted.len() > 5 {
            names.push_str(&format!(" and {} more", self.exhausted.len() - 5));
        }
        Some(format!(
            "increase budget exhausted (maxTotalCpuIncrease {}, maxTotalMemoryIncrease {}); \
             {} pod(s) wait for the next cycle: {names}",
            self.cpu.as_ref().map_or("unlimited", |l| l.text.as_str()),
            self.memory
                .as_ref()
                .map_or("unlimited", |l| l.text.as_str()),
            self.exhausted.len()
        ))
    }
}

fn units(resource: Resource, q: &quantity::Quantity) -> Option<i128> {
    match resource {
        Resource::Cpu => q.millis_ceil(),
        Resource::Memory => q.units_ceil(),
    }
}

/// Millicores or bytes the resize adds to the pod's requests (decreases count as zero).
fn increase(resize: &Resize, resource: Resource) -> i128 {
    resize
        .changes
        .iter()
        .filter(|c| c.resource == resource && c.field == Field::Request)
        .map(|c| {
            let read = |t: &str| quantity::parse(t).ok().and_then(|q| units(resource, &q));
            let to = read(&c.to).unwrap_or_default();
            let from = c.from.as_deref().and_then(read).unwrap_or_default();
            (to - from).max(0)
        })
        .sum()
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
