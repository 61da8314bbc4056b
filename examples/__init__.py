"""Example systems that eventharness scenarios run against (not part of the eventharness
package)."""
