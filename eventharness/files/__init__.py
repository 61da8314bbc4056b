"""eventharness.files"""
