package proxy

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// fakeAPI feeds a Services and an EndpointSlices informer from the test, as the API server
// would through list and watch.
type fakeAPI struct {
	services, slices          cache.SharedIndexInformer
	serviceWatch, slicesWatch *watch.RaceFreeFakeWatcher
}

func newFakeAPI(t testing.TB, services []*v1.Service, slices []*discovery.EndpointSlice) *fakeAPI {
	f := &fakeAPI{serviceWatch: watch.NewRaceFreeFake(), slicesWatch: watch.NewRaceFreeFake()}
	svcList := &v1.ServiceList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for _, s := range services {
		svcList.Items = append(svcList.Items, *s)
	}
	sliceList := &discovery.EndpointSliceList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for _, s := range slices {
		sliceList.Items = append(sliceList.Items, *s)
	}
	f.services = cache.NewSharedIndexInformer(listWatch(svcList, f.serviceWatch), &v1.Service{}, 0, cache.Indexers{})
	f.slices = cache.NewSharedIndexInformer(listWatch(sliceList, f.slicesWatch), &discovery.EndpointSlice{}, 0, cache.Indexers{})
	return f
}

// noWatchList is a ListWatch that tells the reflector it cannot stream lists, so that it
// lists and then watches.
type noWatchList struct{ *cache.ListWatch }

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }

func listWatch(list runtime.Object, w *watch.RaceFreeFakeWatcher) cache.ListerWatcher {
	watched := false
	return noWatchList{&cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) { return list, nil },
		WatchFuncWithContext: func(ctx context.Context, _ metav1.ListOptions) (watch.Interface, error) {
			if watched {
				<-ctx.Done() // one watch is all the test feeds
				return nil, ctx.Err()
			}
			watched = true
			return w, nil
		},
	}}
}

// start runs the informers until the test ends.
func (f *fakeAPI) start(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { f.services.Run(ctx.Done()); done <- struct{}{} }()
	go func() { f.slices.Run(ctx.Done()); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		f.serviceWatch.Stop()
		f.slicesWatch.Stop()
		for range 2 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Errorf("informers did not stop")
				return
			}
		}
	})
}
