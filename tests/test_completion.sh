#!/bin/bash
# test_completion.sh: the bash completion of the five tools
# (completion/inrf.bash) offers their options from their own --help, the
# words some options take, inrpack's subcommands, and only the files each
# position takes.
# shellcheck disable=SC2016 # the checks are evaluated later
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/testlib.sh" test_completion
PATH=$(cd "$top_builddir" && pwd)/tools:$(cd "$top_builddir" && pwd)/trainer:$PATH
. "$top_srcdir/completion/inrf.bash"

# comp WORD...: the completions of the last word, sorted, on one line
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _inrf_complete
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

check "inrenc --pre completes to --preset" '[ "$(comp inrenc --pre)" = "--preset" ]'
check "inrenc --preset offers the presets" \
    '[ "$(comp inrenc --preset "")" = "auto cifar10 flowers imagenet" ]'
check "inrenc --quant i offers the int8 encodings" '[ "$(comp inrenc --quant i)" = "int8 int8-row" ]'
check "inrdec --device offers the devices" '[ "$(comp inrdec --device "")" = "auto cpu cuda" ]'
check "inrtrain --ep completes to --epochs" '[ "$(comp inrtrain --ep)" = "--epochs" ]'
check "inrpack offers its subcommands" \
    'for s in create info verify extract merge; do comp inrpack "" | grep -qw $s || exit 1; done'
check "inrpack extract's options come from its own help" \
    'comp inrpack extract --s | grep -qx -- --size'
check "inrinfo offers its options" 'comp inrinfo -- | grep -qw -- --json'

cd "$tmp" || exit 1
mkdir sub
: >a.png; : >b.inrf; : >c.txt; : >d.inrpack; : >E.JPG
check "inrenc offers images, .inrf outputs and folders, not other files" \
    '[ "$(comp inrenc "")" = "E.JPG a.png b.inrf sub" ]'
check "inrdec and inrinfo offer .inrf files, not other files" \
    'comp inrdec "" | grep -qw b.inrf && comp inrinfo "" | grep -qw b.inrf && ! comp inrinfo "" | grep -qw c.txt'
check "inrpack info offers packs and folders only" '[ "$(comp inrpack info "")" = "d.inrpack sub" ]'
check "inrtrain --train offers packs and folders" '[ "$(comp inrtrain --train "")" = "d.inrpack sub" ]'
check "inrenc -d offers folders only" '[ "$(comp inrenc a.png -d "")" = "sub" ]'
check "inrdec --format offers the image formats" '[ "$(comp inrdec --format p)" = "pgm png pnm ppm" ]'
check "an option taking a file name completes any file" \
    'comp inrtrain --log "" | grep -qw c.txt'
finish
