def quicksort(arr)
  return arr if arr.size <= 1
  pivot, *rest = arr
  left, right = rest.partition { |x| x < pivot }
  quicksort(left) + [pivot] + quicksort(right)
end

def merge_sort(arr)
  return arr if arr.size <= 1
  mid = arr.size / 2
  left = merge_sort(arr[0...mid])
  right = merge_sort(arr[mid..])
  result = []
  result << (left.first <= right.first ? left.shift : right.shift) until left.empty? || right.empty?
  result + left + right
end

data = [38, 27, 43, 3, 9, 82, 10, 3, -5, 0]
puts quicksort(data).inspect
puts merge_sort(data).inspect
puts quicksort(data) == data.sort
merge_sort(%w[pear apple fig banana])
