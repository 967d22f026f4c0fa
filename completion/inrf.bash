# Bash completion for the inrf tools: inrenc, inrdec, inrinfo, inrpack and
# inrtrain. Options are read from each tool's own --help (cached per
# shell), so they follow the installed version; file names are filtered by
# what each position takes. Installed once per command name, as
# bash-completion loads completions by name; it needs nothing from
# bash-completion itself.

declare -gA _inrf_help_cache

# The long options of a command line's --help, one per line, with "=" after
# those that take a value (written "--size N" or "--size=N" somewhere in
# the help text: the option lines or the usage).
_inrf_options()
{
    local key="$*"
    if [[ -z ${_inrf_help_cache[$key]+set} ]]; then
        _inrf_help_cache[$key]=$("$@" --help 2>/dev/null |
            grep -oE -- '--[a-z0-9][a-z0-9-]*([ =][A-Z][A-Za-z|]*)?' |
            awk '{ n = $0; sub(/[ =].*/, "", n); if ($0 != n) arg[n] = 1; seen[n] = 1 }
                 END { for (n in seen) print n (n in arg ? "=" : "") }' | sort)
    fi
    printf '%s\n' "${_inrf_help_cache[$key]}"
}

# File names ending in one of the given extensions, and folders.
_inrf_files()
{
    local cur=$1 f ext
    shift
    compopt -o filenames 2>/dev/null
    while IFS= read -r f; do
        if [[ -d $f ]]; then
            COMPREPLY+=("$f")
            continue
        fi
        for ext in "$@"; do
            if [[ ${f,,} == *."$ext" ]]; then
                COMPREPLY+=("$f")
                break
            fi
        done
    done < <(compgen -f -- "$cur")
}

_inrf_dirs()
{
    compopt -o filenames 2>/dev/null
    mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$1")
}

# Values of the options whose arguments are words; 0 when handled.
_inrf_value()
{
    local cmd=$1 sub=$2 prev=$3 cur=$4 words=""
    case $prev in
        --preset) words="auto cifar10 flowers imagenet" ;;
        --quant) words="none int8 int8-row" ;;
        --device) words="auto cpu cuda" ;;
        --stats) words="json" ;;
        --format)
            if [[ $cmd == inrpack ]]; then words="png inrf"; else words="png jpeg ppm pgm pnm"; fi ;;
        -d|--dir|--test-dir|--train-dir) _inrf_dirs "$cur"; return 0 ;;
        --train|--test)
            _inrf_files "$cur" inrpack
            return 0 ;;
        --list) _inrf_files "$cur" tsv txt list; return 0 ;;
        --eval|--resume|--checkpoint) _inrf_files "$cur" model ckpt; return 0 ;;
        *) return 1 ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
    return 0
}

_inrf_complete()
{
    local cmd=${COMP_WORDS[0]##*/} cur=${COMP_WORDS[COMP_CWORD]} prev="" sub=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    local -a help=("${COMP_WORDS[0]}")
    if [[ $cmd == inrpack ]]; then
        if ((COMP_CWORD == 1)); then
            mapfile -t COMPREPLY < <(compgen -W "$("${COMP_WORDS[0]}" --help 2>/dev/null |
                sed -nE 's/^  ([a-z]+) .*/\1/p') --help --version" -- "$cur")
            return
        fi
        sub=${COMP_WORDS[1]}
        help+=("$sub")
    fi
    _inrf_value "$cmd" "$sub" "$prev" "$cur" && return

    # the option before this word takes a value not listed above: a file
    local opts
    opts=$(_inrf_options "${help[@]}")
    if [[ $prev == --* ]] && grep -qx -- "$prev=" <<<"$opts"; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        local o
        for o in $(compgen -W "$opts" -- "$cur"); do
            COMPREPLY+=("${o%=}")
        done
        return
    fi
    case $cmd in
        inrenc) _inrf_files "$cur" png jpg jpeg ppm pgm pnm inrf ;;
        inrdec|inrinfo) _inrf_files "$cur" inrf png jpg jpeg ppm pgm pnm ;;
        inrpack)
            case $sub in
                create) _inrf_files "$cur" tsv txt inrpack ;;
                *) _inrf_files "$cur" inrpack ;;
            esac ;;
        inrtrain) _inrf_files "$cur" inrpack model png jpg jpeg ppm pgm pnm ;;
        *) compopt -o default 2>/dev/null ;;
    esac
}

complete -F _inrf_complete inrenc inrdec inrinfo inrpack inrtrain
