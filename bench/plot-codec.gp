# plot-codec.gp: PSNR against bits per pixel from bench/codec's CSV, one
# panel per image set, one series per codec. Run by bench/codec as
#   gnuplot -e "csv='codec.csv'; out='codec.png'; sets='cifar10 kodak'; codecs='inrf jpeg webp'" plot-codec.gp
# CSV columns: 1 set, 2 image, 3 codec, ..., 8 bpp, 9 psnr.

if (!exists("csv")) csv = 'codec.csv'
if (!exists("out")) out = 'codec.png'
if (!exists("sets")) sets = 'cifar10 kodak'
if (!exists("codecs")) codecs = 'inrf jpeg webp'

nsets = words(sets)
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size 640 * nsets, 520 font ',10'
} else {
    set terminal png size 640 * nsets, 520
}
set output out
set datafile separator ','
set key below horizontal reverse Left width 2
set grid
set xlabel 'bits per pixel (whole file)'
set ylabel 'PSNR (dB, RGB)'

# Rows of one set and codec, others undefined (skipped by plot).
pick(col, s, c) = (strcol(1) eq s && strcol(3) eq c && strcol(9) ne '') ? column(col) : NaN

set multiplot layout 1, nsets
do for [i = 1:nsets] {
    s = word(sets, i)
    set title s
    plot for [j = 1:words(codecs)] csv every ::1 \
        using (pick(8, s, word(codecs, j))):(pick(9, s, word(codecs, j))) \
        with points pointtype (j == 1 ? 7 : j == 2 ? 5 : 9) pointsize 0.8 \
        title word(codecs, j)
}
unset multiplot
