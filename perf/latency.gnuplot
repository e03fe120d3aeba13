# Latency by percentile (HdrHistogram's percentile spectrum) for the three peers of make bench,
# from busyring-load --hist-out files (columns: Value(us) Percentile TotalCount 1/(1-Percentile);
# two header lines; the final 100% line has no fourth column and is not drawn).
# perf/bench sets: out, heading, f_nginx, f_durable, f_memory.
set terminal svg size 960,600 dynamic enhanced font "sans,13" background rgb "white"
set output out
set title heading
set logscale x 10
set xrange [1:100000]
set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)
set xlabel "percentile"
set ylabel "latency (ms), from the intended send time"
# Log y: medians near 0.1 ms and tails near 100 ms must both be readable.
set logscale y 10
set yrange [0.01:*]
set format y "%g"
set grid xtics ytics
set key bottom right opaque box
plot f_nginx   skip 2 using 4:($1/1000) with lines lw 2 lc rgb "#1b9e77" title "nginx return 201", \
     f_durable skip 2 using 4:($1/1000) with lines lw 2 lc rgb "#d95f02" title "busyring --ack=durable", \
     f_memory  skip 2 using 4:($1/1000) with lines lw 2 lc rgb "#7570b3" title "busyring --ack=memory"
