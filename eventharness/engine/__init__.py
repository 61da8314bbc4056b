"""eventharness.engine"""
