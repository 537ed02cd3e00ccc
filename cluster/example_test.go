package cluster_test

import (
	"fmt"
	"log"
	"time"

	"github.com/troupe-dev/troupe/cluster"
)

// Two nodes on loopback: b joins a, a sees it, both agree that a, the
// older, coordinates, and b leaves gracefully.
func Example() {
	cfg := cluster.LocalConfig()
	cfg.Name = "a"
	cfg.Meta = cluster.NodeMeta{ActorAddr: "127.0.0.1:8090", Slots: 4}
	a, err := cluster.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	cfg.Name, cfg.Join = "b", []string{a.Addr()}
	b, err := cluster.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	for ev := range a.Events() {
		fmt.Println("a:", ev.Type, ev.Node.Name, "slots", ev.Node.Slots)
		if ev.Node.Name == "b" {
			break
		}
	}
	coord, _ := cluster.Coordinator(b.Members())
	fmt.Println("coordinator:", coord.Name)

	if err := b.Leave(time.Second); err != nil {
		log.Fatal(err)
	}
	for ev := range a.Events() {
		if ev.Type == cluster.EventLeave {
			fmt.Println("a:", ev.Type, ev.Node.Name)
			break
		}
	}
	// Output:
	// a: join a slots 4
	// a: join b slots 4
	// coordinator: a
	// a: leave b
}
