"""eventharness.env"""
