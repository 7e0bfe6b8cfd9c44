# Helpers of the benchmark scripts; sourced, not run.

now() { date +%s%N; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# report LABEL_A "times..." LABEL_B "times...": prints each run, each median
# and the ratio of the medians, A / B.
report() {
	local a=$1 at=$2 b=$3 bt=$4 am bm
	am=$(printf '%s\n' $at | median)
	bm=$(printf '%s\n' $bt | median)
	printf '%-28s %s  median %s\n' "$a (ms):" "$at" "$am"
	printf '%-28s %s  median %s\n' "$b (ms):" "$bt" "$bm"
	awk -v a="$am" -v b="$bm" -v l="ratio $a / $b:" 'BEGIN {printf "%-28s %.3f\n", l, a / b}'
}
