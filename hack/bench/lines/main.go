// Command lines is the build step of the benchmarks that measure what a
// chatty build costs: it prints numbered lines of build output, one
// write(2) a line as a step that flushes each line does.
//
//	lines N [RATE]
//
// prints N lines, as fast as it can or, given RATE, at most RATE lines a
// second (it sleeps after every thousand lines until they are due).
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lines:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("usage: lines N [RATE]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return fmt.Errorf("the count of lines must be a number, got %q", args[0])
	}
	rate := 0
	if len(args) == 2 {
		if rate, err = strconv.Atoi(args[1]); err != nil || rate <= 0 {
			return fmt.Errorf("the rate must be a positive number of lines a second, got %q", args[1])
		}
	}
	start := time.Now()
	var line []byte
	for i := 1; i <= n; i++ {
		line = strconv.AppendInt(append(line[:0], '#'), int64(i), 10)
		line = strconv.AppendInt(append(line, " [build 2/3] RUN step output bench-line "...), int64(i), 10)
		line = strconv.AppendInt(append(line, '/'), int64(n), 10)
		line = append(line, ": lorem ipsum dolor sit amet\n"...)
		if _, err := os.Stdout.Write(line); err != nil {
			return err
		}
		if rate > 0 && i%1000 == 0 {
			due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			time.Sleep(time.Until(due))
		}
	}
	return nil
}
