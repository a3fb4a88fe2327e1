//! The pod QoS class as Kubernetes derives it from CPU and memory, which a resize must never
//! change (the API server answers 422 when it would).

use super::containers::Resources;
use super::decision::Resource;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

/// Kubernetes' rule, over init and regular containers alike: no positive request or limit
/// anywhere is BestEffort; positive CPU and memory limits everywhere, each equal to its
/// (defaulted) request, is Guaranteed; anything else is Burstable. Zero amounts count as unset,
/// as they do for Kubernetes.
pub(crate) fn qos_class(containers: &[Resources]) -> QosClass {
    let any_set = containers.iter().any(|c| {
        Resource::ALL.iter().any(|&r| {
            let pair = c.pair(r);
            pair.request.as_ref().is_some_and(|a| a.is_positive())
                || pair.limit.as_ref().is_some_and(|a| a.is_positive())
        })
    });
    if !any_set {
        return QosClass::BestEffort;
    }
    let guaranteed = containers.iter().all(|c| {
        Resource::ALL.iter().all(|&r| {
            let pair = c.pair(r);
            match (&pair.limit, pair.effective_request()) {
                (Some(limit), Some(request)) => limit.is_positive() && limit.same(request),
                _ => false,
            }
        })
    });
    if guaranteed {
        QosClass::Guaranteed
    } else {
        QosClass::Burstable
    }
}
