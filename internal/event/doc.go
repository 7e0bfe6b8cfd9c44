// Package event is hoist's event stream: the Bus that stamps each event of a
// run with the run id, a contiguous sequence and a UTC timestamp, keeps the
// run's whole history in bounded memory (a ring that spills to an unlinked
// file) and lets any number of subscribers read it at their own pace; and
// what every reader of events shares: their JSON and text forms, levels,
// filters, and the payload type and status names of the contract. A Bus is
// passed to whoever publishes or subscribes, never global. Publishers never
// wait on a subscriber: a live one that falls further behind than its queue
// allows is dropped with a *DroppedError naming the last sequence it
// received, and Subscribe resumes it from there with every later event
// exactly once and in order.
package event
