//! The label sets of the metrics (their names are a fixed interface).

use prometheus_client::encoding::EncodeLabelSet;

/// `{spec, target}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    /// Spec name.
    pub spec: String,
    /// Target name.
    pub target: String,
}

/// `{spec, target, result}`: check results and crawl page results.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ResultLabels {
    pub(super) spec: String,
    pub(super) target: String,
    pub(super) result: String,
}

/// `{spec, target, assertion}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct AssertionLabels {
    pub(super) spec: String,
    pub(super) target: String,
    pub(super) assertion: String,
}

/// `{spec, target, name}`: extracted values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct NameLabels {
    pub(super) spec: String,
    pub(super) target: String,
    pub(super) name: String,
}

/// `{channel, result}`: notification deliveries.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ChannelLabels {
    pub(super) channel: String,
    pub(super) result: String,
}

/// `{version}` of `dcrawl_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct VersionLabels {
    pub(super) version: String,
}

/// `{index, count}` of `dcrawl_shard`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ShardLabels {
    pub(super) index: String,
    pub(super) count: String,
}

/// `{spec, target, step}`: a flow's steps.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct StepLabels {
    pub(super) spec: String,
    pub(super) target: String,
    pub(super) step: String,
}
