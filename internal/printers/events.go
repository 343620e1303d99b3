package printers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(Printer{Columns: eventColumns(), Cells: cellsOf(eventsEventCells)},
		schema.GroupKind{Group: eventsv1.GroupName, Kind: "Event"})
}

// eventsEventCells prints an events.k8s.io Event as upstream does: converted
// to the core Event, with the core Event's columns.
func eventsEventCells(ev *eventsv1.Event, now time.Time) ([]interface{}, error) {
	return eventCells(coreEvent(ev), now)
}

// coreEvent maps an events.k8s.io/v1 Event onto the core Event fields, as
// the conversion through the internal type does: regarding becomes
// involvedObject, note becomes message, and the deprecated fields become
// source, firstTimestamp, lastTimestamp and count.
func coreEvent(ev *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          ev.ObjectMeta,
		InvolvedObject:      ev.Regarding,
		Reason:              ev.Reason,
		Message:             ev.Note,
		Source:              ev.DeprecatedSource,
		FirstTimestamp:      ev.DeprecatedFirstTimestamp,
		LastTimestamp:       ev.DeprecatedLastTimestamp,
		Count:               ev.DeprecatedCount,
		Type:                ev.Type,
		EventTime:           ev.EventTime,
		Action:              ev.Action,
		Related:             ev.Related,
		ReportingController: ev.ReportingController,
		ReportingInstance:   ev.ReportingInstance,
	}
	if ev.Series != nil {
		out.Series = &corev1.EventSeries{Count: ev.Series.Count, LastObservedTime: ev.Series.LastObservedTime}
	}
	return out
}
