import Metrics
import Prometheus

/// A swift-metrics factory over a Prometheus registry that gives every
/// metric its ``MetricHelp`` text, so each family a scrape returns has a
/// `# HELP` line (Prometheus' own factory gives none). Buckets, and
/// whether a recorder aggregates, follow `PrometheusMetricsFactory`'s
/// defaults.
package struct DocumentedMetricsFactory: MetricsFactory {
    /// The registry the metrics are made in.
    package let registry: PrometheusCollectorRegistry
    private let base: PrometheusMetricsFactory

    /// A factory making its metrics in `registry`.
    package init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        base = PrometheusMetricsFactory(registry: registry)
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricHelp.text[label] ?? "")
    }

    package func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    package func makeFloatingPointCounter(
        label: String, dimensions: [(String, String)]
    ) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    package func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(
            descriptor: descriptor(label), labels: dimensions,
            buckets: base.valueHistogramBuckets[label] ?? base.defaultValueHistogramBuckets)
    }

    package func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    package func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: descriptor(label), labels: dimensions,
            buckets: base.durationHistogramBuckets[label] ?? base.defaultDurationHistogramBuckets)
    }

    package func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }

    package func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        base.destroyFloatingPointCounter(handler)
    }

    package func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }

    package func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }

    package func destroyTimer(_ handler: any TimerHandler) { base.destroyTimer(handler) }
}
