package apply_test

import (
	"runtime"
	"time"
)

func runtimeGosched() { runtime.Gosched(); time.Sleep(time.Millisecond) }

func sleepPoll() { time.Sleep(30 * time.Millisecond) }
