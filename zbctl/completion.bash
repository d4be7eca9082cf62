# SPDX-License-Identifier: MIT
# Bash completion for zbctl: verbs, options and buffer names. Verbs and
# options come from zbctl's own --help, so they follow the verb table; buffer
# names from `zbctl list` (on the socket the command line names, if any), and
# for read and write also the ZeroBuffer buffers in /dev/shm that zbd does not
# own. Installed as "zbctl" in bash-completion's completions directory.

# The verbs, from zbctl's help.
_zbctl_verbs()
{
	"$1" --help 2>/dev/null | sed -n '/^Verbs:/,/^$/s/^  \([a-z][a-z]*\).*/\1/p'
}

# The long options of a verb's help, or without a verb the common ones.
_zbctl_options()
{
	local zbctl=$1 verb=$2

	if [[ -z $verb ]]; then
		"$zbctl" --help 2>/dev/null | sed -n '/^Options:/,/^$/p'
	else
		"$zbctl" "$verb" --help 2>/dev/null
	fi | grep -o -e '--[a-z][a-z-]*' | LC_ALL=C sort -u
}

# Buffer names: zbd's, and with "any" also those of any ZeroBuffer program.
_zbctl_buffers()
{
	local zbctl=$1 any=$2
	shift 2
	local f

	"$zbctl" "$@" list 2>/dev/null
	if [[ $any == any ]]; then
		for f in /dev/shm/sem.sem-w-*; do
			[[ -e $f ]] && printf '%s\n' "${f#/dev/shm/sem.sem-w-}"
		done
	fi
}

_zbctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local zbctl=${COMP_WORDS[0]} verb= operands=0 i word
	local -a socket=()

	# The verb is the first word that is neither an option nor -s's argument;
	# after it, count the operands given (option arguments skipped).
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		-s | --socket)
			((i++))
			socket=(-s "${COMP_WORDS[i]}")
			;;
		--socket=*) socket=(-s "${word#--socket=}") ;;
		--payload | --metadata | --mode | --group | --frame-size | --timeout) ((i++)) ;;
		-*) ;;
		*=*) ;; # the daemon's words: payload=64M
		*)
			if [[ -z $verb ]]; then
				verb=$word
			else
				((operands++))
			fi
			;;
		esac
	done

	COMPREPLY=()
	case $prev in
	-s | --socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--mode)
		COMPREPLY=($(compgen -W '0600 0640 0660 0666' -- "$cur"))
		return
		;;
	--group)
		COMPREPLY=($(compgen -g -- "$cur"))
		return
		;;
	--payload | --metadata | --frame-size | --timeout) return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_zbctl_options "$zbctl" "$verb")" -- "$cur"))
		return
	fi
	if [[ -z $verb ]]; then
		COMPREPLY=($(compgen -W "$(_zbctl_verbs "$zbctl")" -- "$cur"))
		return
	fi
	case $verb in
	destroy | health)
		if ((operands == 0)); then
			COMPREPLY=($(compgen -W "$(_zbctl_buffers "$zbctl" zbd "${socket[@]}")" -- "$cur"))
		elif [[ $verb == destroy ]]; then
			COMPREPLY=($(compgen -W 'force' -- "$cur"))
		fi
		;;
	read | write)
		((operands == 0)) &&
			COMPREPLY=($(compgen -W "$(_zbctl_buffers "$zbctl" any "${socket[@]}")" -- "$cur"))
		;;
	create)
		((operands > 0)) &&
			COMPREPLY=($(compgen -W 'payload= metadata= mode= group=' -- "$cur"))
		[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
		;;
	help)
		((operands == 0)) && COMPREPLY=($(compgen -W "$(_zbctl_verbs "$zbctl")" -- "$cur"))
		;;
	esac
}

complete -F _zbctl zbctl
