# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machinery of the fault suite: playbook runs that can be killed, load, fronts, services."""
